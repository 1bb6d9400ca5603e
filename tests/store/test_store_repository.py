"""The repository helpers round-trip through the real tables, and never commit on their own."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from salesbridge.store import repository as repo
from salesbridge.store.db import migrate, session_scope
from salesbridge.store.models import Event, Link, RecordError, Run, RunFlow

SF_ID = "00Q000000000001AAA"
SF_ID_2 = "00Q000000000002AAA"


@pytest.fixture
def store(engine: Engine) -> Engine:
    migrate(engine)
    return engine


@pytest.fixture
def session(store: Engine) -> Iterator[Session]:
    with Session(store) as session, session.begin():
        yield session


def test_watermarks_round_trip_and_move(session: Session) -> None:
    assert repo.get_watermark(session, "leads", "sf_modstamp") is None
    repo.set_watermark(session, "leads", "sf_modstamp", "2026-01-01T00:00:00.000+0000")
    repo.set_watermark(session, "leads", "sf_modstamp", "2026-01-02T00:00:00.000+0000")
    repo.set_watermark(session, "contacts", "sf_modstamp", "2025-12-31T00:00:00.000+0000")
    assert repo.get_watermark(session, "leads", "sf_modstamp") == "2026-01-02T00:00:00.000+0000"
    assert repo.get_watermark(session, "contacts", "sf_modstamp") == "2025-12-31T00:00:00.000+0000"


def test_helpers_never_commit_the_callers_transaction(store: Engine) -> None:
    with Session(store) as session:
        repo.set_watermark(session, "leads", "sf_modstamp", "x")
        repo.save_link(session, "leads", "1", SF_ID, sf_object="Lead")
        session.rollback()
    with Session(store) as session:
        assert repo.get_watermark(session, "leads", "sf_modstamp") is None
        assert repo.get_link_by_app_key(session, "leads", "1") is None


def test_links_are_found_by_either_side_and_keys_are_text(session: Session) -> None:
    saved = repo.save_link(session, "leads", 42, SF_ID, sf_object="Lead", sf_modstamp="m1", app_hash="a1",
                           sf_hash="s1")
    assert saved.app_key == "42"
    assert saved.created_at.tzinfo is not None
    by_app = repo.get_link_by_app_key(session, "leads", "42")
    assert by_app is not None and by_app.id == saved.id
    by_sf = repo.get_link_by_sf_id(session, "leads", SF_ID)
    assert by_sf is not None and by_sf.id == saved.id
    assert repo.get_link_by_sf_id(session, "contacts", SF_ID) is None
    assert set(repo.links_by_app_key(session, "leads", ["42", "43"])) == {"42"}
    assert set(repo.links_by_sf_id(session, "leads", [SF_ID, SF_ID_2])) == {SF_ID}


def test_save_link_replaces_the_state_of_the_same_app_key(session: Session) -> None:
    repo.save_link(session, "leads", "1", None, sf_object="Lead", app_hash="a1")
    repo.save_link(session, "leads", "1", SF_ID, sf_object="Lead", sf_modstamp="m2", app_hash="a2", sf_hash="s2")
    links = session.scalars(select(Link)).all()
    assert len(links) == 1
    assert (links[0].sf_id, links[0].sf_modstamp, links[0].app_hash, links[0].sf_hash) == (SF_ID, "m2", "a2", "s2")


def test_one_salesforce_id_cannot_be_linked_to_two_app_rows(session: Session) -> None:
    repo.save_link(session, "leads", "1", SF_ID, sf_object="Lead")
    with pytest.raises(IntegrityError):
        repo.save_link(session, "leads", "2", SF_ID, sf_object="Lead")


def test_tombstones_keep_the_link_and_can_be_revived(session: Session) -> None:
    repo.save_link(session, "leads", "1", SF_ID, sf_object="Lead")
    tomb = repo.tombstone_link(session, "leads", "1")
    assert tomb is not None and tomb.deleted and tomb.deleted_at is not None
    assert repo.tombstone_link(session, "leads", "nope") is None
    assert repo.links_by_sf_id(session, "leads", [SF_ID])[SF_ID].deleted
    assert [link.app_key for link in repo.iter_links(session, "leads")] == []
    assert [link.app_key for link in repo.iter_links(session, "leads", include_deleted=True)] == ["1"]
    revived = repo.save_link(session, "leads", "1", SF_ID, sf_object="Lead")
    assert not revived.deleted and revived.deleted_at is None


def test_iter_links_pages_through_every_link(session: Session) -> None:
    for number in range(7):
        repo.save_link(session, "leads", str(number), None, sf_object="Lead")
    assert [link.app_key for link in repo.iter_links(session, "leads", batch_size=3)] == [str(n) for n in range(7)]


def test_a_run_is_started_counted_and_finished(session: Session) -> None:
    run_id = repo.start_run(session, "schedule", ["leads", "contacts"])
    run = session.get(Run, run_id)
    assert run is not None and run.status == "running" and run.flows == ["leads", "contacts"]
    repo.add_run_flow(session, run_id, "leads", records_read=10, records_written=4, api_calls=2,
                      details={"batches": 1})
    repo.add_run_flow(session, run_id, "leads", records_read=5, records_failed=1, conflicts=2, deletes=1,
                      api_calls=1, details={"batches": 2, "note": "x"})
    repo.add_run_flow(session, run_id, "contacts", api_calls=3)
    leads = session.get(RunFlow, (run_id, "leads"))
    assert leads is not None
    assert (leads.records_read, leads.records_written, leads.records_failed, leads.conflicts, leads.deletes,
            leads.api_calls) == (15, 4, 1, 2, 1, 3)
    assert leads.details == {"batches": 2, "note": "x"}
    finished = repo.finish_run(session, run_id, "partial")
    assert finished.status == "partial" and finished.api_calls == 6 and finished.finished_at is not None
    assert [stats.flow for stats in repo.run_flows(session, run_id)] == ["contacts", "leads"]
    assert [r.id for r in repo.recent_runs(session, 5)] == [run_id]


def test_unknown_statuses_and_triggers_are_refused(session: Session) -> None:
    with pytest.raises(ValueError):
        repo.start_run(session, "whenever", ["leads"])
    run_id = repo.start_run(session, "manual", ["leads"])
    with pytest.raises(ValueError):
        repo.finish_run(session, run_id, "done-ish")


def test_record_errors_are_kept_with_payload_and_a_failing_retry_counts_attempts(session: Session) -> None:
    run_id = repo.start_run(session, "manual", ["leads"])
    first = repo.record_error(session, run_id, "leads", "to_salesforce", "create", "7", None,
                              "REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]", ["LastName"],
                              {"Company": "Acme", "Amount": Decimal("12.50"), "Since": date(2024, 5, 1)})
    assert first.payload == {"Company": "Acme", "Amount": "12.50", "Since": "2024-05-01"}
    assert [e.id for e in repo.open_errors(session)] == [first.id]
    repo.mark_retrying(session, first)
    assert [e.id for e in repo.open_errors(session, ids=[first.id])] == [first.id]
    again = repo.record_error(session, run_id, "leads", "to_salesforce", "create", "7", None,
                              "STRING_TOO_LONG", "Company: data value too large", ["Company"], {"Company": "A" * 300})
    assert again.id == first.id
    assert (again.attempts, again.status, again.error_code) == (2, "open", "STRING_TOO_LONG")
    other = repo.record_error(session, run_id, "leads", "from_salesforce", "update", None, SF_ID,
                              "INVALID_TYPE", "bad", [], None)
    assert other.id != first.id
    assert [e.id for e in repo.open_errors(session, flow="leads")] == [first.id, other.id]
    assert repo.open_errors(session, flow="contacts") == []


def test_resolving_a_record_clears_its_errors_by_key_or_id(session: Session) -> None:
    create_failed = repo.record_error(session, None, "leads", "to_salesforce", "create", "7", None, "X", "m")
    update_failed = repo.record_error(session, None, "leads", "from_salesforce", "update", None, SF_ID, "Y", "m")
    unrelated = repo.record_error(session, None, "leads", "to_salesforce", "update", "8", SF_ID_2, "Z", "m")
    # After a successful create the record has both an app key and an Id: either one finds its errors.
    assert repo.resolve_errors(session, "leads", app_key="7", sf_id=SF_ID) == 2
    session.expire_all()
    assert {e.id: e.status for e in session.scalars(select(RecordError))} == {
        create_failed.id: "resolved", update_failed.id: "resolved", unrelated.id: "open"}
    assert repo.resolve_errors(session, "leads") == 0
    assert [e.id for e in repo.list_errors(session)] == [unrelated.id]
    assert len(repo.list_errors(session, include_resolved=True)) == 3
    assert repo.mark_errors_resolved(session, [unrelated.id]) == 1
    assert repo.open_errors(session) == []
    assert repo.set_error_status(session, [create_failed.id], "ignored") == 1
    with pytest.raises(ValueError):
        repo.set_error_status(session, [create_failed.id], "whatever")


def test_a_record_error_needs_a_record(session: Session) -> None:
    with pytest.raises(ValueError):
        repo.record_error(session, None, "leads", "to_salesforce", "create", None, None, "X", "m")


def test_conflicts_keep_both_versions(session: Session) -> None:
    run_id = repo.start_run(session, "manual", ["leads"])
    conflict = repo.record_conflict(session, run_id, "leads", 7, SF_ID, "last_modified_wins", "app",
                                    {"Company": "Acme SF"}, {"company": "Acme App",
                                                             "changed": datetime(2026, 1, 1, tzinfo=UTC)})
    session.expire_all()
    assert conflict.app_key == "7" and conflict.winner == "app"
    assert conflict.sf_values == {"Company": "Acme SF"}
    assert conflict.app_values == {"company": "Acme App", "changed": "2026-01-01T00:00:00+00:00"}
    with pytest.raises(ValueError):
        repo.record_conflict(session, run_id, "leads", 7, SF_ID, "x", "nobody", {}, {})


def test_events_are_read_in_order_after_an_id(session: Session) -> None:
    run_id = repo.start_run(session, "manual", ["deals"])
    created = repo.record_event(session, run_id, "deals", "created", "1", SF_ID, {"origin": "app"})
    won = repo.record_event(session, run_id, "deals", "won", "1", SF_ID)
    other = repo.record_event(session, None, "leads", "converted", sf_id=SF_ID_2, details={"accountId": "001"})
    assert [e.id for e in repo.list_events_after(session)] == [created.id, won.id, other.id]
    assert [e.id for e in repo.list_events_after(session, created.id)] == [won.id, other.id]
    assert [e.kind for e in repo.list_events_after(session, flow="deals", kinds=["won"])] == ["won"]
    assert other.details == {"accountId": "001"} and other.created_at.tzinfo is not None


def test_deleting_a_run_keeps_its_errors_and_events(store: Engine) -> None:
    with session_scope(store) as session:
        run_id = repo.start_run(session, "manual", ["leads"])
        repo.record_error(session, run_id, "leads", "to_salesforce", "create", "1", None, "X", "m")
        repo.record_event(session, run_id, "leads", "created", "1")
        repo.record_conflict(session, run_id, "leads", "1", SF_ID, "sf_wins", "salesforce", {}, {})
        repo.add_run_flow(session, run_id, "leads", records_read=1)
    with session_scope(store) as session:
        session.delete(session.get(Run, run_id))
    with session_scope(store) as session:
        assert session.scalar(select(func.count()).select_from(RunFlow)) == 0
        errors = repo.open_errors(session)
        assert len(errors) == 1 and errors[0].run_id is None
        assert [e.run_id for e in repo.list_events_after(session)] == [None]


def test_session_scope_commits_or_rolls_back(store: Engine) -> None:
    with session_scope(store) as session:
        repo.set_watermark(session, "leads", "a", "1")
    with pytest.raises(RuntimeError), session_scope(store) as session:
        repo.set_watermark(session, "leads", "b", "2")
        raise RuntimeError("crash")
    with session_scope(store) as session:
        assert repo.get_watermark(session, "leads", "a") == "1"
        assert repo.get_watermark(session, "leads", "b") is None


def test_timestamps_are_aware_utc_and_naive_ones_are_refused(session: Session) -> None:
    link = repo.save_link(session, "leads", "1", SF_ID, sf_object="Lead")
    session.expire_all()
    assert link.updated_at.utcoffset() is not None and link.updated_at.utcoffset().total_seconds() == 0
    link.deleted_at = datetime(2026, 1, 1)  # naive
    with pytest.raises(Exception, match="naive datetime"):
        session.flush()


def test_runs_whose_process_died_are_swept_as_interrupted(session: Session) -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    host = socket.gethostname()
    owners = {"dead": f"{host}:{dead.stdout.strip()}", "alive": f"{host}:{os.getpid()}",
              "elsewhere": "another-host:1", "legacy": None}
    ids = {}
    for name, owner in owners.items():
        ids[name] = repo.start_run(session, "manual", ["leads"])
        session.get(Run, ids[name]).owner = owner  # type: ignore[union-attr]
    finished = repo.start_run(session, "manual", ["leads"])
    session.get(Run, finished).owner = owners["dead"]  # type: ignore[union-attr]
    repo.finish_run(session, finished, "succeeded", 0)

    assert repo.sweep_interrupted_runs(session) == [ids["dead"]]
    run = session.get(Run, ids["dead"])
    assert run is not None and run.status == "interrupted" and run.finished_at is not None
    assert owners["dead"] in (run.error or "")
    assert {session.get(Run, ids[name]).status for name in ("alive", "elsewhere", "legacy")} == {"running"}  # type: ignore[union-attr]
    assert session.get(Run, finished).status == "succeeded"  # type: ignore[union-attr]
    assert repo.sweep_interrupted_runs(session) == []
    assert session.get(Run, repo.start_run(session, "manual", [])).owner == repo.process_owner()  # type: ignore[union-attr]


def test_pruning_events_keeps_each_records_last_values_and_unhandled_runs(session: Session) -> None:
    handled = repo.start_run(session, "manual", ["leads"])
    repo.finish_run(session, handled, "succeeded", 0)
    session.get(Run, handled).events_handled_at = datetime(2026, 1, 2, tzinfo=UTC)  # type: ignore[union-attr]
    pending = repo.start_run(session, "manual", ["leads"])
    old, recent = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)
    made = {}
    for name, run_id, kind, key, when in [
        ("old created", handled, "created", "1", old), ("old updated", handled, "updated", "1", old),
        ("old won", handled, "won", "1", old), ("last of 2", handled, "updated", "2", old),
        ("unhandled", pending, "won", "3", old), ("recent", handled, "updated", "1", recent),
    ]:
        event = repo.record_event(session, run_id, "leads", kind, key, None, {"values": {"stage": name}})
        event.created_at = when
        made[name] = event.id
    session.flush()

    assert repo.prune_events(session, datetime(2026, 6, 1, tzinfo=UTC)) == 3
    left = {event_id for (event_id,) in session.execute(select(Event.id))}
    assert left == {made["last of 2"], made["unhandled"], made["recent"]}
    assert repo.prune_events(session, datetime(2026, 6, 1, tzinfo=UTC)) == 0
