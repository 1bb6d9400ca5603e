"""A ``schedule`` under ``mail``: the scheduler thread of ``salesbridge run`` starts the mail flow when it is due
(here a run missed while the hub was down) and stores the next run time, as it does for table flows."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dovecot_server import DovecotServer, MailUser
from mail_helpers import FOLDER, MailClient, mail_config, make_message
from sqlalchemy.orm import Session

from salesbridge.salesforce import SalesforceClient
from salesbridge.sandbox.server import RunningSandbox
from salesbridge.store.models import Run
from salesbridge.store.models import Schedule as ScheduleRow
from salesbridge.sync.runs import Hub, RunReport
from salesbridge.triggers.schedules import compile_schedule, next_run_after
from salesbridge.triggers.service import TriggerService


def test_the_scheduler_thread_runs_the_mail_flow_when_it_is_due(
    tmp_path: Path,
    org: RunningSandbox,
    dovecot: DovecotServer,
    mail_user: MailUser,
    mail_client: MailClient,
    sf_client: SalesforceClient,
) -> None:
    [contact] = sf_client.create("Contact", [{"LastName": "Ode", "Email": "ode@schedule.example"}])
    mail_client.create_folder(FOLDER)
    mail_client.append(FOLDER, make_message("ode@schedule.example", mail_user.username, "Scheduled",
                                            message_id="<scheduled@1>"))
    now = datetime.now(UTC)
    every_day = {"every": "1d", "starting": (now - timedelta(days=5)).strftime("%Y-%m-%dT%H:%M")}
    config = mail_config(org, f"sqlite:///{tmp_path / 'hub.db'}", dovecot, mail_user, schedule=every_day)
    [state] = TriggerService(Hub(config), clock=lambda: now - timedelta(days=3)).prepare()
    assert (state.flow, state.next_run_at < now - timedelta(days=2)) == ("mail", True)

    hub = Hub(config)  # restarted: the stored run time has passed
    ran = threading.Event()
    reports: list[RunReport] = []

    def on_run(trigger: str, report: RunReport) -> None:
        if trigger == "schedule":
            reports.append(report)
            ran.set()

    service = TriggerService(hub, on_run=on_run, poll_seconds=3600)
    service.start()
    try:
        assert ran.wait(120), "the missed mail run did not start"
    finally:
        service.stop(wait=True)

    assert [(r.status, [(f.flow, f.written_to_salesforce) for f in r.results]) for r in reports] == [
        ("succeeded", [("mail", 1)])]
    tasks = sf_client.query_all("SELECT Subject, WhoId, Status FROM Task")
    assert [(t["Subject"], t["WhoId"], t["Status"]) for t in tasks] == [("Email: Scheduled", contact.id, "Completed")]
    with Session(hub.engine) as session:
        assert [(r.trigger, r.flows) for r in session.query(Run)] == [("schedule", ["mail"])]
        row = session.get(ScheduleRow, "mail")
        assert row is not None and row.last_run_id == reports[0].run_id
        assert row.next_run_at == next_run_after(compile_schedule(config.mail.schedule), row.last_run_at)
        assert row.next_run_at > now
