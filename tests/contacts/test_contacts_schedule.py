"""A ``schedule`` under ``contacts``: kept in ``sb_schedules`` as ``contacts`` like a flow's, listed by
``salesbridge schedule``, and run by the trigger service (a run missed while the hub was down runs once)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from contacts_helpers import BOOK, AddressBookUser, contacts_config, vcard
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from salesbridge.cli import app as cli
from salesbridge.salesforce import SalesforceClient
from salesbridge.sandbox.server import RunningSandbox
from salesbridge.store.models import Run
from salesbridge.store.models import Schedule as ScheduleRow
from salesbridge.sync.config import ConfigError, parse_config
from salesbridge.sync.runs import Hub
from salesbridge.triggers.service import TriggerService

DAILY_AT_EIGHT_BERLIN = {"every": "1d", "starting": "2026-12-01T08:00", "timezone": "Europe/Berlin"}


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_the_contacts_schedule_is_stored_listed_and_a_missed_run_runs_once(
    tmp_path: Path, org: RunningSandbox, person: AddressBookUser, sf_client: SalesforceClient
) -> None:
    sf_client.create("Account", [{"Name": "Acme"}])
    book = person.make_book("sf", BOOK)
    person.put(book, "ann.vcf", vcard("ann-1", "Archer", "Ann", email="ann@acme.example", org="Acme"))
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    config = contacts_config(org, url, person, schedule=DAILY_AT_EIGHT_BERLIN)

    first = TriggerService(Hub(config), clock=lambda: at(2026, 12, 3, 9, 15))
    assert [(s.flow, s.next_run_at) for s in first.prepare()] == [("contacts", at(2026, 12, 4, 7))]
    assert first.run_once() == ([], []), "nothing is due before 08:00 Berlin"

    hub = Hub(config)  # restarted three days later
    late = TriggerService(hub, clock=lambda: at(2026, 12, 7, 10, 30))
    scheduled, _ = late.run_once()

    assert len(scheduled) == 1, "the runs missed on 4 to 7 December run once"
    report = scheduled[0]
    assert report.status == "succeeded"
    assert [(r.flow, r.written_to_salesforce) for r in report.results] == [("contacts", 1)]
    assert [c["LastName"] for c in sf_client.query_all("SELECT LastName FROM Contact")] == ["Archer"]
    with Session(hub.engine) as session:
        runs = [(run.trigger, run.flows) for run in session.query(Run).order_by(Run.id)]
        row = session.get(ScheduleRow, "contacts")
        assert row is not None
        assert (row.next_run_at, row.last_run_at, row.last_run_id) == (
            at(2026, 12, 8, 7), at(2026, 12, 7, 10, 30), report.run_id)
    assert runs == [("schedule", ["contacts"])]
    assert late.run_once() == ([], []), "and not again"


def test_salesbridge_schedule_lists_the_contacts_schedule(
    tmp_path: Path, org: RunningSandbox, person: AddressBookUser
) -> None:
    config = contacts_config(org, f"sqlite:///{tmp_path / 'hub.db'}", person)
    data = config.model_dump(mode="json", exclude_none=True)
    data["connections"]["salesforce"].update(client_secret="salesbridge-secret", password="sandbox-pass")
    data["contacts"]["carddav"]["password"] = person.user.password
    data["contacts"]["schedule"] = {"every": "1d", "starting": "2031-01-06T08:00", "timezone": "Europe/Berlin"}
    path = tmp_path / "salesbridge.yaml"
    path.write_text(yaml.safe_dump(data))

    listing = CliRunner().invoke(cli, ["schedule", "-c", str(path)], env={"COLUMNS": "250"})

    assert listing.exit_code == 0, listing.output
    line = next(line for line in listing.output.splitlines() if "contacts" in line)
    assert "every 1d from 2031-01-06 08:00 (Europe/Berlin)" in line
    assert "2031-01-06 08:00 CET" in line and "2031-01-06 07:00" in line and "never" in line


def test_a_flow_named_contacts_cannot_share_the_schedule_of_the_contacts_section(
    org: RunningSandbox, person: AddressBookUser
) -> None:
    config = contacts_config(org, "sqlite://", person, schedule={"every": "1h"})
    data = config.model_dump(mode="json", exclude_none=True)
    data["connections"]["salesforce"].update(client_secret="x", password="y")
    data["contacts"]["carddav"]["password"] = "z"
    data["flows"] = [{"name": "contacts", "salesforce": "Contact", "table": "people", "fields": {"LastName": "name"}}]

    with pytest.raises(ConfigError) as raised:
        parse_config(data, "test.yaml")
    assert raised.value.key == "flows[0].name"
    assert "would share one schedule" in raised.value.expected
