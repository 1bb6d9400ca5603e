"""``salesbridge run``: scheduled flows and the event loop in one foreground process.

APScheduler (3.x) does the waiting: one job per scheduled flow, whose trigger asks ``schedules.next_run_after``
(so the DST rules are ours and tested as pure functions), and one interval job that polls the event loop.
Persistence is ours, not APScheduler's: ``sb_schedules`` holds each flow's next and last run time in the hub
database (readable, no pickled jobs; the mail and contacts flows as ``mail`` and ``contacts``), and the
scheduler starts from it:
- a stored next run time in the past (missed while the hub was down) is run once at start: APScheduler's
  ``coalesce`` folds the missed runs into one, and ``misfire_grace_time=None`` runs it however late;
- after each run the next time is stored, so that a restart computes nothing anew.
Hub work runs on one worker thread: runs never overlap (the hub's client counts API calls per run, and two
runs of one flow at once could race on a record).
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.orm import Session

from salesbridge.flows.scheduled import run_source, run_table_flow
from salesbridge.triggers.events import EventLoop
from salesbridge.triggers.lease import DatabaseLease
from salesbridge.triggers.schedule_state import (
    SOURCE_SECTIONS,
    ScheduledFlow,
    read_schedules,
    record_scheduled_run,
    scheduled_flows,
    sync_schedules,
)
from salesbridge.triggers.schedules import Schedule, compile_schedule, next_run_after

if TYPE_CHECKING:
    from salesbridge.sync.runs import Hub, RunReport

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
#: Told of every run the service starts: ("schedule" or "event", its report).
OnRun = Callable[[str, "RunReport"], None]
DEFAULT_POLL_SECONDS = 10.0
#: How often the scheduler renews its database lease (a quarter of the lease's time-to-live).
LEASE_RENEW_SECONDS = 30.0


def utc_now() -> datetime:
    return datetime.now(UTC)


class StoredScheduleTrigger(BaseTrigger):
    """An APScheduler trigger that starts at the stored next run time and then follows ``next_run_after``.

    After a fire it answers the next run after *now* (not after the fire time): a flow down for a year on a
    one-minute schedule then costs one computation, not half a million, and the coalesced result is the same.
    """

    __slots__ = ("first", "schedule")

    def __init__(self, schedule: Schedule, first: datetime | None) -> None:
        self.schedule = schedule
        self.first = first

    def get_next_fire_time(self, previous_fire_time: datetime | None, now: datetime) -> datetime | None:
        if previous_fire_time is None:
            return self.first or next_run_after(self.schedule, now)
        return next_run_after(self.schedule, max(previous_fire_time, now))

    def __str__(self) -> str:
        return self.schedule.text


class TriggerService:
    """Scheduled runs and the event loop for one hub; ``run_forever`` is ``salesbridge run``.

    ``run_scheduled``, ``poll_events`` and ``run_once`` do one piece of work each, synchronously, for
    ``salesbridge run --once`` (a system cron can drive the hub that way) and for tests.
    """

    def __init__(self, hub: Hub, *, poll_seconds: float = DEFAULT_POLL_SECONDS, clock: Clock = utc_now,
                 on_run: OnRun | None = None) -> None:
        self.hub = hub
        self.poll_seconds = poll_seconds
        self.clock = clock
        self.on_run = on_run
        self.events = EventLoop(hub)
        self.schedules = {name: compile_schedule(config) for name, config in scheduled_flows(hub.config).items()}
        self._work_lock = threading.Lock()
        self._scheduler: BackgroundScheduler | None = None
        #: One ``salesbridge run`` per database: held while the scheduler runs, and around ``run_once``.
        self.lease = DatabaseLease(hub.engine)
        self.lease_lost = False

    # -- one piece of work at a time ------------------------------------------------------------------------
    def prepare(self) -> list[ScheduledFlow]:
        """Store the configured schedules (keeping the times of unchanged ones) and return them."""
        with Session(self.hub.engine) as session, session.begin():
            return sync_schedules(session, self.hub.config, self.clock())

    def schedules_now(self) -> list[ScheduledFlow]:
        """The schedules with their next run times, without storing anything (``salesbridge schedule``)."""
        with Session(self.hub.engine) as session:
            return read_schedules(session, self.hub.config, self.clock())

    def run_scheduled(self, flow: str) -> RunReport:
        """One scheduled run of ``flow`` (a table flow, or ``mail`` or ``contacts``); then its last run and next
        run time are stored."""
        with self._work_lock:
            started = self.clock()
            if flow in SOURCE_SECTIONS:
                report = run_source(self.hub, flow, trigger="schedule")
            else:
                report = run_table_flow(self.hub, flow)
            next_run = next_run_after(self.schedules[flow], max(started, self.clock()))
            with Session(self.hub.engine) as session, session.begin():
                record_scheduled_run(session, flow, started, report.run_id, next_run)
        log.info("scheduled run %s of %s: %s; next run %s", report.run_id, flow, report.status,
                 next_run.isoformat())
        if self.on_run is not None:
            self.on_run("schedule", report)
        return report

    def poll_events(self) -> list[RunReport]:
        """One pass of the event loop."""
        with self._work_lock:
            reports = self.events.poll()
        if self.on_run is not None:
            for report in reports:
                self.on_run("event", report)
        return reports

    def run_once(self) -> tuple[list[RunReport], list[RunReport]]:
        """What is due now: scheduled flows whose time has come (missed ones once), then pending events.

        Raises LeaseHeld when a ``salesbridge run`` (or another ``--once``) works on this database."""
        self.lease.acquire()
        try:
            states = self.prepare()
            now = self.clock()
            scheduled = [self.run_scheduled(state.flow) for state in states if state.due(now)]
            return scheduled, self.poll_events()
        finally:
            self.lease.release()

    # -- in the background -----------------------------------------------------------------------------------
    def start(self) -> list[ScheduledFlow]:
        """Start the scheduler thread: due schedules run at once, the event loop every ``poll_seconds``."""
        if self._scheduler is not None:
            raise RuntimeError("the trigger service is already running")
        self.lease.acquire()
        self.lease_lost = False
        states = self.prepare()
        scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(max_workers=1)},
            job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1},
        )
        for state in states:
            scheduler.add_job(self._scheduled_job, StoredScheduleTrigger(state.schedule, state.next_run_at),
                              args=[state.flow], id=f"flow:{state.flow}", name=f"sync {state.flow}")
        scheduler.add_job(self._events_job, IntervalTrigger(seconds=self.poll_seconds, timezone=UTC),
                          id="events", name="event loop", next_run_time=datetime.now(UTC))
        scheduler.add_job(self._prune_job, IntervalTrigger(days=1, timezone=UTC), id="prune",
                          name="prune old events", next_run_time=datetime.now(UTC))
        scheduler.add_job(self._lease_job, IntervalTrigger(seconds=LEASE_RENEW_SECONDS, timezone=UTC),
                          id="lease", name="keep the database lease")
        scheduler.start()
        self._scheduler = scheduler
        return states

    def add_listener(self, callback: Callable[[Any], None], mask: int) -> None:
        """Listen to APScheduler's job events (``apscheduler.events``); used by tests to wait for a run."""
        if self._scheduler is None:
            raise RuntimeError("start the service first")
        self._scheduler.add_listener(callback, mask)

    def stop(self, wait: bool = True) -> None:
        """Stop the scheduler; with ``wait``, after the run in progress has finished."""
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=wait)
            self._scheduler = None
            self.lease.release()

    def run_forever(self, announce: Callable[[list[ScheduledFlow]], None] | None = None) -> None:
        """Run until Ctrl+C or SIGTERM, then let the current run finish; ``announce`` gets the schedules."""
        stop = threading.Event()
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, lambda *_: stop.set())
        states = self.start()
        if announce is not None:
            announce(states)
        try:
            while not stop.wait(1.0) and not self.lease_lost:
                pass
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def _scheduled_job(self, flow: str) -> None:
        if self.lease_lost:
            return
        try:
            self.run_scheduled(flow)
        except Exception:  # the scheduler keeps going; the next run is tried at its time
            log.exception("scheduled run of %s failed", flow)
            raise

    def _lease_job(self) -> None:
        """Renew the lease; when another process took it (this one stalled past its time-to-live), stop working:
        two schedulers must not run the same flows."""
        if self.lease.renew():
            return
        log.error("the database lease was taken over by another salesbridge run; this one stops")
        self.lease_lost = True

    def _prune_job(self) -> None:
        """Once a day (and at start): events older than settings.keep_events_days go."""
        try:
            with self._work_lock:
                pruned = self.hub.prune_events()
            if pruned:
                log.info("pruned %s old events", pruned)
        except Exception:  # housekeeping must not stop the scheduler
            log.exception("pruning old events failed")

    def _events_job(self) -> None:
        if self.lease_lost:
            return
        try:
            self.poll_events()
        except Exception:
            log.exception("event loop pass failed")
            raise
