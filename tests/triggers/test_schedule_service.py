"""Schedules against the sandbox: stored next run times survive restarts, a run missed while the hub was down
runs once (in the synchronous pass and in the APScheduler thread), and the command line shows and runs them."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import yaml
from sqlalchemy.orm import Session
from trigger_helpers import accounts_flow, config_data, contacts_flow, leads_flow
from typer.testing import CliRunner

from salesbridge.cli import app as cli
from salesbridge.store.models import Schedule as ScheduleRow
from salesbridge.triggers.schedules import compile_schedule, next_run_after
from salesbridge.triggers.service import TriggerService

DAILY_AT_EIGHT_BERLIN = {"every": "1d", "starting": "2026-12-01T08:00", "timezone": "Europe/Berlin"}


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def stored(app) -> dict[str, ScheduleRow]:
    with Session(app.hub.engine) as session:
        rows = {row.flow: row for row in session.query(ScheduleRow)}
        session.expunge_all()
        return rows


def test_next_run_survives_restarts_and_missed_runs_run_once(make_app, sqlite_url):
    flows = [leads_flow(schedule=DAILY_AT_EIGHT_BERLIN), accounts_flow()]
    first = make_app(sqlite_url, flows)
    states = TriggerService(first.hub, clock=lambda: at(2026, 12, 3, 9, 15)).prepare()
    assert [(s.flow, s.next_run_at) for s in states] == [("leads", at(2026, 12, 4, 7))]

    restarted = make_app(sqlite_url, flows)
    service = TriggerService(restarted.hub, clock=lambda: at(2026, 12, 3, 21, 0))
    assert [s.next_run_at for s in service.schedules_now()] == [at(2026, 12, 4, 7)]
    assert [s.next_run_at for s in service.prepare()] == [at(2026, 12, 4, 7)], "kept, not recomputed"
    assert service.run_once() == ([], []), "nothing is due before 08:00 Berlin"

    down_for_days = make_app(sqlite_url, flows)
    late = TriggerService(down_for_days.hub, clock=lambda: at(2026, 12, 7, 10, 30))
    scheduled, _ = late.run_once()

    assert len(scheduled) == 1, "the runs missed on 4, 5, 6 and 7 December run once"
    assert [(r.trigger, r.flows) for r in down_for_days.runs()] == [("schedule", ["leads"])]
    row = stored(down_for_days)["leads"]
    assert (row.next_run_at, row.last_run_at, row.last_run_id) == (
        at(2026, 12, 8, 7), at(2026, 12, 7, 10, 30), scheduled[0].run_id)
    assert late.run_once() == ([], []), "and not again"


def test_a_changed_schedule_is_computed_afresh_and_a_removed_one_forgotten(make_app, sqlite_url):
    first = make_app(sqlite_url, [leads_flow(schedule=DAILY_AT_EIGHT_BERLIN), accounts_flow(schedule={"every": "1h"})])
    TriggerService(first.hub, clock=lambda: at(2026, 12, 3, 9, 15)).prepare()
    assert set(stored(first)) == {"leads", "accounts"}

    changed = {**DAILY_AT_EIGHT_BERLIN, "starting": "2026-12-01T18:00"}
    second = make_app(sqlite_url, [leads_flow(schedule=changed), accounts_flow()])
    states = TriggerService(second.hub, clock=lambda: at(2026, 12, 3, 9, 15)).prepare()

    assert [(s.flow, s.next_run_at) for s in states] == [("leads", at(2026, 12, 3, 17))]
    assert set(stored(second)) == {"leads"}


def test_the_scheduler_thread_runs_a_missed_run_once_at_start(make_app, sqlite_url):
    now = datetime.now(UTC)
    every_day = {"every": "1d", "starting": (now - timedelta(days=5)).strftime("%Y-%m-%dT%H:%M")}
    flows = [leads_flow(schedule=every_day)]
    before = make_app(sqlite_url, flows)
    [state] = TriggerService(before.hub, clock=lambda: now - timedelta(days=3)).prepare()
    assert state.next_run_at < now - timedelta(days=2)

    after = make_app(sqlite_url, flows)
    ran = threading.Event()
    reports = []

    def on_run(trigger, report):
        if trigger == "schedule":
            reports.append(report)
            ran.set()

    service = TriggerService(after.hub, on_run=on_run, poll_seconds=3600)
    service.start()
    try:
        assert ran.wait(120), "the missed run did not start"
    finally:
        service.stop(wait=True)

    assert len(reports) == 1
    assert [(r.trigger, r.flows) for r in after.runs()] == [("schedule", ["leads"])]
    row = stored(after)["leads"]
    expected = next_run_after(compile_schedule(after.hub.config.flow("leads").schedule), row.last_run_at)
    assert row.next_run_at == expected and row.next_run_at > now


runner = CliRunner()


def test_the_command_line_lists_schedules_and_runs_what_is_due(make_app, sqlite_url, tmp_path, org):
    future = {"every": "1d", "starting": "2031-01-06T08:00", "timezone": "Europe/Berlin"}
    flows = [leads_flow(schedule=future),
             accounts_flow(chain={"then": [{"flow": "contacts", "for": "related", "via": "account_id"}]}),
             contacts_flow()]
    triggers = [{"name": "approved", "on": {"flow": "leads", "event": "status", "field": "stage",
                                            "becomes": "Approved", "side": "app"}, "run": ["accounts"]}]
    app = make_app(sqlite_url, flows, triggers)
    path = tmp_path / "salesbridge.yaml"
    path.write_text(yaml.safe_dump(config_data(org, sqlite_url, flows, triggers)))
    env = {"COLUMNS": "250"}

    listing = runner.invoke(cli, ["schedule", "-c", str(path)], env=env)
    assert listing.exit_code == 0, listing.output
    assert "every 1d from 2031-01-06 08:00 (Europe/Berlin)" in listing.output
    assert "2031-01-06 08:00 CET" in listing.output and "2031-01-06 07:00" in listing.output
    assert "leads: status stage becomes Approved (app side)" in listing.output
    assert "chain of accounts" in listing.output and "contacts (related via account_id)" in listing.output

    nothing = runner.invoke(cli, ["run", "--once", "-c", str(path)], env=env)
    assert nothing.exit_code == 0, nothing.output
    assert "0 scheduled run(s), 0 run(s) started by event rules" in nothing.output

    app.insert("INSERT INTO leads (last_name, company, stage) VALUES ('Hopper', 'Navy', 'Approved')")
    app.hub.sync(["leads"])
    triggered = runner.invoke(cli, ["run", "--once", "-c", str(path)], env=env)
    assert triggered.exit_code == 0, triggered.output
    assert "0 scheduled run(s), 1 run(s) started by event rules" in triggered.output
    assert [(r.trigger, r.flows) for r in app.runs()] == [("manual", ["leads"]), ("event", ["accounts"])]
