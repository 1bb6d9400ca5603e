"""One ``salesbridge run`` per hub database: the scheduler's lease in ``sb_leases``, on SQLite and PostgreSQL.

A second scheduler (or ``run --once``) on a database another live process works on is refused with a message
naming the holder; a holder that stopped renewing, or whose process died, is taken over; a holder that lost
its lease stops working."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, update
from sqlalchemy.orm import Session
from trigger_helpers import App, leads_flow

from salesbridge.store.db import migrate, open_store
from salesbridge.store.models import Lease
from salesbridge.triggers.lease import DatabaseLease, LeaseHeld
from salesbridge.triggers.service import TriggerService


@pytest.fixture
def store(app_url: str) -> Iterator[Engine]:
    engine = open_store(app_url)
    migrate(engine)
    yield engine
    engine.dispose()


def test_a_held_lease_is_refused_naming_its_holder_until_released(store: Engine) -> None:
    first, second = DatabaseLease(store), DatabaseLease(store)
    first.acquire()
    with pytest.raises(LeaseHeld, match=first.owner.replace(":", r"\:")) as refused:
        second.acquire()
    assert "one per hub database" in str(refused.value)
    assert first.renew()
    first.release()
    second.acquire()
    assert not first.renew(), "the lease is the second holder's now"


def test_a_lease_not_renewed_for_its_ttl_is_taken_over(store: Engine) -> None:
    stalled, fresh = DatabaseLease(store, ttl_seconds=60), DatabaseLease(store, ttl_seconds=60)
    now = datetime.now(UTC)
    stalled.acquire(now - timedelta(seconds=300))
    fresh.acquire(now)
    assert not stalled.renew(), "the stalled holder learns it lost the lease"
    with pytest.raises(LeaseHeld):
        stalled.acquire(now)


def test_the_lease_of_a_dead_process_on_this_host_is_taken_over(store: Engine) -> None:
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    holder = DatabaseLease(store)
    holder.acquire()
    host = holder.owner.split(":", 1)[0]
    with Session(store) as session, session.begin():
        session.execute(update(Lease).values(owner=f"{host}:{gone}:deadbeef"))
    DatabaseLease(store).acquire()  # renewed a moment ago, but its process is gone


def test_a_second_scheduler_on_one_database_is_refused(make_app: Callable[..., App], sqlite_url: str) -> None:
    first = make_app(sqlite_url, [leads_flow()])
    second = make_app(sqlite_url, [leads_flow()])
    running = TriggerService(first.hub, poll_seconds=3600)
    running.start()
    try:
        with pytest.raises(LeaseHeld, match="another salesbridge run holds this database"):
            TriggerService(second.hub, poll_seconds=3600).start()
        with pytest.raises(LeaseHeld):
            TriggerService(second.hub).run_once()
    finally:
        running.stop()
    TriggerService(second.hub).run_once()  # free again: --once takes and gives the lease back
    restarted = TriggerService(second.hub, poll_seconds=3600)
    restarted.start()
    restarted.stop()


def test_a_scheduler_that_lost_its_lease_stops_working(make_app: Callable[..., App], sqlite_url: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app(sqlite_url, [leads_flow()])
    service = TriggerService(app.hub, poll_seconds=3600)
    service.start()
    worked: list[str] = []
    monkeypatch.setattr(service, "poll_events", lambda: worked.append("events"))
    monkeypatch.setattr(service, "run_scheduled", lambda flow: worked.append(flow))
    try:
        service._events_job()
        assert worked == ["events"]  # while the lease is ours, the jobs work
        with Session(app.hub.engine) as session, session.begin():
            session.execute(update(Lease).values(owner="elsewhere:1:cafe"))  # taken over meanwhile
        service._lease_job()
        assert service.lease_lost
        service._events_job()
        service._scheduled_job("leads")
        assert worked == ["events"], "no work after the lease was lost"
    finally:
        service.stop()
