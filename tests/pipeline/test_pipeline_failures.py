"""Pipeline records that cannot be synced fail alone, as record errors naming the problem, and go once fixed:
an unmapped stage or Lead Status, a contact whose company is not synced (or gone), an unknown owner."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from salesbridge.demo import demo_schema_file
from salesbridge.flows.pipeline import registry
from salesbridge.flows.pipeline.recipe import FLOW_COMPANIES, FLOW_CONTACTS, FLOW_LEADS, sandbox_schema_file
from salesbridge.sandbox.server import RunningSandbox, start_in_thread
from salesbridge.store.models import Link, RecordError
from salesbridge.sync.config import parse_config
from salesbridge.sync.runs import Hub

ADMIN = "admin@sandbox.example"


def make_hub(org: RunningSandbox, url: str) -> Hub:
    from salesbridge.flows.pipeline.recipe import with_pipeline

    return Hub(parse_config(with_pipeline({"connections": {
        "salesforce": {"login_url": org.url, "client_id": "salesbridge", "client_secret": "salesbridge-secret",
                       "username": ADMIN, "password": "sandbox-pass", "verify": str(org.ca_path)},
        "app": {"url": url}}}), "pipeline.yaml"))


@pytest.fixture
def nurturing_org(tmp_path: Path) -> Iterator[RunningSandbox]:
    """An org whose admin added a Lead Status the recipe does not map (Nurturing)."""
    extra = tmp_path / "nurturing.yaml"
    extra.write_text("objects:\n  Lead:\n    picklist_values:\n      Status: [Nurturing]\n")
    running = start_in_thread(schema_files=(demo_schema_file(), sandbox_schema_file(), str(extra)))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def hub(nurturing_org: RunningSandbox, app_url: str) -> Iterator[Hub]:
    built = make_hub(nurturing_org, app_url)
    yield built
    built.engine.dispose()


def open_errors(hub: Hub, flow: str) -> list[RecordError]:
    with Session(hub.engine) as session:
        return list(session.scalars(select(RecordError).where(RecordError.flow == flow,
                                                              RecordError.status.in_(("open", "retrying")))
                                    .order_by(RecordError.id)))


def sf_id(hub: Hub, flow: str, record_id: int) -> str | None:
    with Session(hub.engine) as session:
        return session.scalar(select(Link.sf_id).where(Link.flow == flow, Link.app_key == str(record_id),
                                                       Link.deleted.is_(False)))


def test_unmapped_stage_in_the_tool_fails_that_lead_alone(hub: Hub) -> None:
    good = registry.create(hub.engine, "leads", {"last_name": "Good", "company": "Good Co"})
    with hub.engine.begin() as connection:  # an older version of the tool wrote a stage the pipeline dropped
        connection.execute(text("INSERT INTO sb_pipeline_leads (last_name, company, stage) "
                                "VALUES ('Odd', 'Odd Co', 'On Hold')"))
        odd_id = connection.execute(text("SELECT id FROM sb_pipeline_leads WHERE last_name = 'Odd'")).scalar_one()

    report = hub.sync()

    assert report.status == "partial" and report.failed == 1
    (error,) = open_errors(hub, FLOW_LEADS)
    assert (error.error_code, error.app_key, error.direction) == ("UNMAPPED_VALUE", str(odd_id), "to_salesforce")
    assert "'On Hold'" in error.message and "pipeline_stages" in error.message and error.fields == ["Status"]
    assert sf_id(hub, FLOW_LEADS, good["id"]) is not None and sf_id(hub, FLOW_LEADS, odd_id) is None
    assert registry.open_errors(hub.engine)[0]["error_code"] == "UNMAPPED_VALUE"

    registry.change(hub.engine, "leads", odd_id, {"stage": "Qualified"})
    assert hub.sync().status == "succeeded"
    assert hub.client.get("Lead", sf_id(hub, FLOW_LEADS, odd_id))["Status"] == "Qualified"
    assert open_errors(hub, FLOW_LEADS) == []


def test_unmapped_lead_status_fails_that_lead_and_keeps_the_stage(hub: Hub) -> None:
    client = hub.client
    known = registry.create(hub.engine, "leads", {"last_name": "Known", "company": "Known Co", "stage": "Contacted"})
    hub.sync()
    (fresh,) = client.create("Lead", [{"LastName": "Fresh", "Company": "Fresh Co", "Status": "Nurturing"}])
    client.update("Lead", [{"Id": sf_id(hub, FLOW_LEADS, known["id"]), "Status": "Nurturing"}])

    report = hub.sync()

    assert report.failed == 2
    errors = {e.sf_id: e for e in open_errors(hub, FLOW_LEADS)}
    assert {e.error_code for e in errors.values()} == {"UNMAPPED_VALUE"}
    assert set(errors) == {fresh.id, sf_id(hub, FLOW_LEADS, known["id"])}
    assert "'Nurturing'" in errors[fresh.id].message and errors[fresh.id].direction == "from_salesforce"
    assert registry.get(hub.engine, "leads", known["id"])["stage"] == "Contacted"
    assert len(registry.list_records(hub.engine, "leads")) == 1, "the unmapped Lead is not imported"

    client.update("Lead", [{"Id": fresh.id, "Status": "Qualified"}])
    hub.sync()
    assert [r["stage"] for r in registry.list_records(hub.engine, "leads") if r["linked_id"] == fresh.id] == [
        "Qualified"]


def test_contact_whose_company_is_not_synced_waits_for_it(hub: Hub) -> None:
    company = registry.create(hub.engine, "companies", {"name": "Later Ltd"})
    waiting = registry.create(hub.engine, "contacts", {"last_name": "Waiting", "company_id": company["id"]})
    gone_company = registry.create(hub.engine, "companies", {"name": "Gone Ltd"})
    orphan = registry.create(hub.engine, "contacts", {"last_name": "Orphan", "company_id": gone_company["id"]})
    registry.remove(hub.engine, "companies", gone_company["id"])  # the tool deleted it before any sync
    alone = registry.create(hub.engine, "contacts", {"last_name": "Alone"})
    (account,) = hub.client.create("Account", [{"Name": "Salesforce Only"}])
    (sf_contact,) = hub.client.create("Contact", [{"LastName": "Imported", "AccountId": account.id}])

    report = hub.sync([FLOW_CONTACTS])  # the companies flow has not run yet

    assert report.failed == 3
    errors = open_errors(hub, FLOW_CONTACTS)
    assert {(e.error_code, e.app_key or e.sf_id) for e in errors} == {
        ("UNLINKED_REFERENCE", str(waiting["id"])), ("UNLINKED_REFERENCE", str(orphan["id"])),
        ("UNLINKED_REFERENCE", sf_contact.id)}
    assert sf_id(hub, FLOW_CONTACTS, alone["id"]) is not None, "a contact without a company goes on"

    report = hub.sync()

    assert report.failed == 1, "only the contact of the deleted company is left"
    (left,) = open_errors(hub, FLOW_CONTACTS)
    assert (left.error_code, left.app_key) == ("UNLINKED_REFERENCE", str(orphan["id"]))
    contact = hub.client.get("Contact", sf_id(hub, FLOW_CONTACTS, waiting["id"]))
    assert contact["AccountId"] == sf_id(hub, FLOW_COMPANIES, company["id"])
    (imported,) = [c for c in registry.list_records(hub.engine, "contacts") if c["linked_id"] == sf_contact.id]
    (sf_company,) = [c for c in registry.list_records(hub.engine, "companies") if c["linked_id"] == account.id]
    assert imported["company_id"] == sf_company["id"]


def test_unknown_owner_email_fails_that_lead_alone(hub: Hub) -> None:
    stray = registry.create(hub.engine, "leads", {"last_name": "Stray", "company": "Stray Co",
                                                  "owner_email": "nobody@nowhere.example"})
    fine = registry.create(hub.engine, "leads", {"last_name": "Fine", "company": "Fine Co", "owner_email": ADMIN})

    report = hub.sync()

    assert report.failed == 1
    (error,) = open_errors(hub, FLOW_LEADS)
    assert (error.error_code, error.app_key) == ("UNKNOWN_USER", str(stray["id"]))
    assert "nobody@nowhere.example" in error.message
    admin_id = hub.client.find_user(ADMIN)["Id"]
    assert hub.client.get("Lead", sf_id(hub, FLOW_LEADS, fine["id"]))["OwnerId"] == admin_id

    registry.change(hub.engine, "leads", stray["id"], {"owner_email": ADMIN})
    assert hub.sync().status == "succeeded"
    assert hub.client.get("Lead", sf_id(hub, FLOW_LEADS, stray["id"]))["OwnerId"] == admin_id
    assert open_errors(hub, FLOW_LEADS) == []
