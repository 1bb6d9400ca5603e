"""The lead pipeline against the sandbox, both ways: the tool's companies, contacts and leads (its own tables)
and Accounts, Contacts and Leads; stages <-> Lead Status; won (conversion), lost, deleted and transferred
(owner change) from either side, each recorded as a lifecycle event."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from salesbridge.demo import demo_schema_file
from salesbridge.flows.pipeline import registry
from salesbridge.flows.pipeline.recipe import (
    DEFAULT_OWNER,
    FLOW_COMPANIES,
    FLOW_CONTACTS,
    FLOW_LEADS,
    pipeline_recipe,
    sandbox_schema_file,
    shipped_recipe,
    with_pipeline,
)
from salesbridge.sandbox.server import RunningSandbox, start_in_thread
from salesbridge.store.models import Link, RecordError
from salesbridge.sync.config import parse_config
from salesbridge.sync.runs import Hub, RunReport

ADMIN = "admin@sandbox.example"


@pytest.fixture
def pipeline_org() -> Iterator[RunningSandbox]:
    running = start_in_thread(schema_files=(demo_schema_file(), sandbox_schema_file()))
    try:
        yield running
    finally:
        running.stop()


def make_hub(org: RunningSandbox, url: str) -> Hub:
    config = with_pipeline({"connections": {
        "salesforce": {"login_url": org.url, "client_id": "salesbridge", "client_secret": "salesbridge-secret",
                       "username": ADMIN, "password": "sandbox-pass", "verify": str(org.ca_path)},
        "app": {"url": url}}})
    return Hub(parse_config(config, "pipeline.yaml"))


@pytest.fixture
def hub(pipeline_org: RunningSandbox, app_url: str) -> Iterator[Hub]:
    built = make_hub(pipeline_org, app_url)
    yield built
    built.engine.dispose()


def link(hub: Hub, flow: str, record_id: int) -> tuple[str, str] | None:
    with Session(hub.engine) as session:
        found = session.scalar(select(Link).where(Link.flow == flow, Link.app_key == str(record_id),
                                                  Link.deleted.is_(False)))
        return (found.sf_object, found.sf_id) if found else None


def kinds(hub: Hub, record_id: int, origin: str | None = None) -> list[str]:
    """The record's lifecycle events (oldest first), optionally of one origin."""
    found = registry.events(hub.engine, kind="leads", record_id=record_id, limit=1000)
    return [e["kind"] for e in reversed(found) if origin is None or e["origin"] == origin]


def synced(hub: Hub) -> RunReport:
    report = hub.sync()
    assert report.status == "succeeded", (report.errors, registry.open_errors(hub.engine))
    return report


def lead_at(hub: Hub, sf_id: str) -> dict[str, Any]:
    (row,) = [r for r in registry.list_records(hub.engine, "leads", limit=1000) if r["linked_id"] == sf_id]
    return row


def test_shipped_recipe_yaml_is_the_default_recipe() -> None:
    assert shipped_recipe() == pipeline_recipe()
    flows = {flow["name"]: flow for flow in pipeline_recipe()["flows"]}
    assert [flow["name"] for flow in pipeline_recipe()["flows"]] == [FLOW_COMPANIES, FLOW_CONTACTS, FLOW_LEADS]
    assert all(flow["schedule"]["every"] == "15m" and flow["deletes"] for flow in flows.values())
    assert all(flow["defaults"]["OwnerId"] == {"user": DEFAULT_OWNER} for flow in flows.values())


def test_story_both_ways(hub: Hub) -> None:
    client, engine = hub.client, hub.engine
    manager_id, admin_id = client.find_user(DEFAULT_OWNER)["Id"], client.find_user(ADMIN)["Id"]
    manager_email = client.get("User", manager_id)["Email"]
    admin_email = client.get("User", admin_id)["Email"]

    # 1. Records made on both sides appear on the other; the sales manager owns what the hub creates.
    acme = registry.create(engine, "companies", {"name": "Acme", "website": "https://acme.example"})
    jane = registry.create(engine, "contacts", {"first_name": "Jane", "last_name": "Doe", "email": "Jane@Acme.example",
                                                "company_id": acme["id"]})
    lee = registry.create(engine, "leads", {"first_name": "Lee", "last_name": "New", "company": "Lee Ltd"})
    to_win = registry.create(engine, "leads", {"last_name": "Winner", "company": "Win Co", "stage": "Proposal"})
    to_lose = registry.create(engine, "leads", {"last_name": "Loser", "company": "Lose Co", "stage": "Contacted"})
    to_drop = registry.create(engine, "leads", {"last_name": "Dropped", "company": "Drop Co"})
    (globex,) = client.create("Account", [{"Name": "Globex"}])
    (hank,) = client.create("Contact", [{"LastName": "Scorpio", "Email": "hank@globex.example",
                                         "AccountId": globex.id}])
    sam, sf_win, sf_lose, sf_drop = (r.id for r in client.create("Lead", [
        {"LastName": "Sam", "Company": "Sam Inc", "Status": "Working - Contacted"},
        {"LastName": "Convert", "Company": "Convert Inc", "Status": "Qualified"},
        {"LastName": "Lost", "Company": "Lost Inc"},
        {"LastName": "Gone", "Company": "Gone Inc"}]))

    synced(hub)

    account = client.get("Account", link(hub, FLOW_COMPANIES, acme["id"])[1])
    assert (account["Name"], account["Pipeline_Id__c"], account["OwnerId"]) == ("Acme", str(acme["id"]), manager_id)
    contact = client.get("Contact", link(hub, FLOW_CONTACTS, jane["id"])[1])
    assert (contact["AccountId"], contact["Email"], contact["OwnerId"]) == (account["Id"], "jane@acme.example",
                                                                         manager_id)
    leads = {r["Pipeline_Id__c"]: r for r in client.query_all("SELECT Pipeline_Id__c, Status, OwnerId FROM Lead "
                                                              "WHERE Pipeline_Id__c != null")}
    assert {k: (v["Status"], v["OwnerId"]) for k, v in leads.items()} == {
        str(lee["id"]): ("Open - Not Contacted", manager_id), str(to_win["id"]): ("Proposal Sent", manager_id),
        str(to_lose["id"]): ("Working - Contacted", manager_id), str(to_drop["id"]): ("Open - Not Contacted",
                                                                                      manager_id)}
    assert registry.get(engine, "leads", lee["id"])["owner_email"] == manager_email, "the default owner shows"
    (hub_globex,) = [c for c in registry.list_records(engine, "companies") if c["linked_id"] == globex.id]
    (hub_hank,) = [c for c in registry.list_records(engine, "contacts") if c["linked_id"] == hank.id]
    assert (hub_hank["company_id"], hub_hank["email"]) == (hub_globex["id"], "hank@globex.example")
    assert (lead_at(hub, sam)["stage"], lead_at(hub, sam)["owner_email"]) == ("Contacted", admin_email)
    assert lead_at(hub, sf_win)["stage"] == "Qualified"
    assert kinds(hub, lee["id"]) == ["created"] and kinds(hub, lead_at(hub, sam)["id"]) == ["created"]

    # 2. Stage changes map both ways.
    registry.change(engine, "leads", lee["id"], {"stage": "Qualified"})
    client.update("Lead", [{"Id": sam, "Status": "Proposal Sent"}])
    synced(hub)
    assert client.get("Lead", link(hub, FLOW_LEADS, lee["id"])[1])["Status"] == "Qualified"
    assert lead_at(hub, sam)["stage"] == "Proposal"

    # 3. Won: the hub's Won converts the Lead; a Lead converted in Salesforce makes the hub lead Won. Both
    # follow the Contact the Lead became.
    win_lead = link(hub, FLOW_LEADS, to_win["id"])[1]
    registry.change(engine, "leads", to_win["id"], {"stage": "Won"})
    converted = client.convert_lead(sf_win, "Closed - Converted")
    sf_win_row = lead_at(hub, sf_win)["id"]
    synced(hub)
    lead = client.get("Lead", win_lead)
    assert lead["IsConverted"] and lead["Status"] == "Closed - Converted" and lead["ConvertedOpportunityId"]
    assert link(hub, FLOW_LEADS, to_win["id"]) == ("Contact", lead["ConvertedContactId"])
    assert {"won", "converted"} <= set(kinds(hub, to_win["id"], "app"))
    assert registry.get(engine, "leads", sf_win_row)["stage"] == "Won"
    assert link(hub, FLOW_LEADS, sf_win_row) == ("Contact", converted["contactId"])
    assert {"converted", "won"} <= set(kinds(hub, sf_win_row, "salesforce"))
    with pytest.raises(registry.PipelineError) as undone:
        registry.change(engine, "leads", to_win["id"], {"stage": "Lost"})
    assert undone.value.code == "ALREADY_CONVERTED" and lead["ConvertedContactId"] in str(undone.value)
    synced(hub)  # the Accounts and Contacts the conversions made come into the tool
    companies = {c["name"]: c for c in registry.list_records(engine, "companies")}
    assert {"Win Co", "Convert Inc"} <= set(companies)
    (won_contact,) = [c for c in registry.list_records(engine, "contacts")
                      if c["linked_id"] == lead["ConvertedContactId"]]
    assert won_contact["company_id"] == companies["Win Co"]["id"]

    # 4. Lost both ways.
    registry.change(engine, "leads", to_lose["id"], {"stage": "Lost"})
    client.update("Lead", [{"Id": sf_lose, "Status": "Closed - Not Converted"}])
    synced(hub)
    assert client.get("Lead", link(hub, FLOW_LEADS, to_lose["id"])[1])["Status"] == "Closed - Not Converted"
    assert lead_at(hub, sf_lose)["stage"] == "Lost"
    assert "lost" in kinds(hub, to_lose["id"], "app") and "lost" in kinds(hub, lead_at(hub, sf_lose)["id"],
                                                                          "salesforce")

    # 5. Deleted both ways.
    drop_lead, jane_contact = link(hub, FLOW_LEADS, to_drop["id"])[1], link(hub, FLOW_CONTACTS, jane["id"])[1]
    sf_drop_row = lead_at(hub, sf_drop)["id"]
    registry.remove(engine, "leads", to_drop["id"])
    registry.remove(engine, "contacts", jane["id"])
    client.delete([sf_drop, hank.id])
    synced(hub)
    assert client.get("Lead", drop_lead) is None and client.get("Contact", jane_contact) is None
    remaining = {r["id"] for r in registry.list_records(engine, "leads", limit=1000)}
    assert sf_drop_row not in remaining and to_drop["id"] not in remaining
    assert hub_hank["id"] not in {r["id"] for r in registry.list_records(engine, "contacts", limit=1000)}
    assert kinds(hub, to_drop["id"])[-1] == "deleted" and kinds(hub, sf_drop_row)[-1] == "deleted"
    deleted = registry.events(engine, kind="leads", event_kinds=["deleted"])
    assert {e["origin"] for e in deleted} == {"app", "salesforce"}

    # 6. Transferred (owner change) both ways.
    registry.change(engine, "leads", lee["id"], {"owner_email": admin_email})
    client.update("Lead", [{"Id": sam, "OwnerId": manager_id}])
    synced(hub)
    assert client.get("Lead", link(hub, FLOW_LEADS, lee["id"])[1])["OwnerId"] == admin_id
    assert lead_at(hub, sam)["owner_email"] == manager_email
    (app_transfer,) = registry.events(engine, kind="leads", record_id=lee["id"], event_kinds=["owner_changed"])
    assert (app_transfer["origin"], app_transfer["details"]["from"], app_transfer["details"]["to"]) == (
        "app", manager_email, admin_email)
    sf_transfers = registry.events(engine, kind="leads", record_id=lead_at(hub, sam)["id"],
                                   event_kinds=["owner_changed"])
    assert [(e["origin"], e["details"]["to"]) for e in sf_transfers][0] == ("salesforce", manager_email)

    # 7. Nothing changed: nothing written; a poll per lane (and the owners of records re-read in the overlap).
    quiet = synced(hub)
    assert quiet.written == 0 and [r.failed for r in quiet.results] == [0, 0, 0]
    assert [r.api_calls for r in quiet.results][:2] == [1, 1] and quiet.results[2].api_calls <= 3
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM sb_record_errors")).scalar_one() == 0


def test_api_calls_stay_per_batch(hub: Hub) -> None:
    """Twenty records of each kind or sixty: the same calls per flow (a poll, the user lookups, one collection
    write); three conversions or thirteen: one convertLead call."""
    def add(count: int, start: int) -> list[int]:
        calls = []
        for n in range(start, start + count):
            company = registry.create(hub.engine, "companies", {"name": f"Co {n}"})
            registry.create(hub.engine, "contacts", {"last_name": f"C{n}", "company_id": company["id"]})
            registry.create(hub.engine, "leads", {"last_name": f"L{n}", "company": f"Co {n}", "stage": "Qualified",
                                                  "owner_email": ADMIN if n % 2 else None})
        report = synced(hub)
        assert [r.written_to_salesforce for r in report.results] == [count] * 3
        calls = [r.api_calls for r in report.results]
        return calls

    add(5, 0)  # later polls re-read the records written within the overlap window (one owner query for them)
    assert add(20, 100) == add(60, 200)
    for row in registry.list_records(hub.engine, "leads", limit=3):
        registry.change(hub.engine, "leads", row["id"], {"stage": "Won"})
    with_wins = synced(hub).results[2]
    for row in registry.list_records(hub.engine, "leads", limit=13, offset=3):
        registry.change(hub.engine, "leads", row["id"], {"stage": "Won"})
    more_wins = synced(hub).results[2]
    assert (with_wins.written_to_salesforce, more_wins.written_to_salesforce) == (6, 26), "update + conversion"
    assert more_wins.api_calls == with_wins.api_calls, "one convertLead call for the batch"


def errors_of(hub: Hub, flow: str) -> list[RecordError]:
    with Session(hub.engine) as session:
        return list(session.scalars(select(RecordError).where(RecordError.flow == flow,
                                                              RecordError.status == "open")))


def test_a_lead_filter_keeps_other_flows_leads_out(pipeline_org: RunningSandbox, tmp_path) -> None:  # noqa: ANN001
    """Beside the deal flow (its Leads carry Sync_with_Hub__c), the tool takes only the other Leads."""
    config = {"connections": {
        "salesforce": {"login_url": pipeline_org.url, "client_id": "salesbridge",
                       "client_secret": "salesbridge-secret", "username": ADMIN, "password": "sandbox-pass",
                       "verify": str(pipeline_org.ca_path)},
        "app": {"url": f"sqlite:///{tmp_path / 'app.db'}"}}, **pipeline_recipe(lead_filter="Sync_with_Hub__c = false")}
    hub = Hub(parse_config(config, "pipeline.yaml"))
    try:
        hub.client.create("Lead", [{"LastName": "Deal", "Company": "Partner Co", "Sync_with_Hub__c": True},
                                   {"LastName": "Own", "Company": "Own Co"}])
        synced(hub)
        assert [r["last_name"] for r in registry.list_records(hub.engine, "leads")] == ["Own"]
    finally:
        hub.engine.dispose()


def test_the_shipped_schedule_runs_the_whole_pipeline(pipeline_org: RunningSandbox, tmp_path) -> None:  # noqa: ANN001
    """Under ``salesbridge run`` the three flows run every 15 minutes, and a scheduled run does all of it (the
    hub's Won converts the Lead: no step of the flow lives outside the sync)."""
    from datetime import UTC, datetime, timedelta

    from salesbridge.triggers.service import TriggerService

    hub = make_hub(pipeline_org, f"sqlite:///{tmp_path / 'app.db'}")
    try:
        company = registry.create(hub.engine, "companies", {"name": "Sched Co"})
        registry.create(hub.engine, "contacts", {"last_name": "Sched", "company_id": company["id"]})
        lead = registry.create(hub.engine, "leads", {"last_name": "Sched", "company": "Sched Co", "stage": "Won"})
        start = datetime(2026, 12, 3, 9, 1, tzinfo=UTC)
        states = TriggerService(hub, clock=lambda: start).prepare()
        assert {(s.flow, s.next_run_at) for s in states} == {
            (name, datetime(2026, 12, 3, 9, 15, tzinfo=UTC)) for name in (FLOW_COMPANIES, FLOW_CONTACTS, FLOW_LEADS)}
        scheduled, _ = TriggerService(hub, clock=lambda: start + timedelta(minutes=15)).run_once()
        assert sorted(r.results[0].flow for r in scheduled) == sorted((FLOW_COMPANIES, FLOW_CONTACTS, FLOW_LEADS))
        assert all(r.status == "succeeded" for r in scheduled), [r.errors for r in scheduled]
        assert link(hub, FLOW_LEADS, lead["id"])[0] == "Contact"
        assert link(hub, FLOW_CONTACTS, 1) is not None
    finally:
        hub.engine.dispose()
