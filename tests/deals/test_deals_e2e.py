"""Partner deal registration against the sandbox: registered deals become Leads, or an Opportunity at the one
matching Contact's Account; approval sends them; conversion is followed; Opportunities import as deals."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from postgres_support import isolated_schema
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from salesbridge.demo import demo_schema_file
from salesbridge.flows.deals import registry
from salesbridge.flows.deals.importer import import_opportunities
from salesbridge.flows.deals.recipe import deals_recipe, sandbox_schema_file, shipped_recipe, with_deals
from salesbridge.flows.deals.registry import DealError, NewDeal
from salesbridge.sandbox.server import RunningSandbox, start_in_thread
from salesbridge.store.models import Link, RecordError
from salesbridge.sync.config import parse_config
from salesbridge.sync.runs import Hub


@pytest.fixture
def org() -> Iterator[RunningSandbox]:
    running = start_in_thread(schema_files=(demo_schema_file(), sandbox_schema_file()))
    try:
        yield running
    finally:
        running.stop()


def make_hub(org: RunningSandbox, url: str, sync_on: str = "approved") -> Hub:
    config = with_deals({
        "connections": {
            "salesforce": {"login_url": org.url, "client_id": "salesbridge", "client_secret": "salesbridge-secret",
                           "username": "admin@sandbox.example", "password": "sandbox-pass",
                           "verify": str(org.ca_path)},
            "app": {"url": url},
        },
    }, sync_on, owner="sales.manager@sandbox.example")  # type: ignore[arg-type]
    return Hub(parse_config(config, "deals.yaml"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def app_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # noqa: ANN001
    """The app database (and the hub's, with sb_deals): a SQLite file or a schema on the test PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'app.db'}"
        return
    with isolated_schema(request.getfixturevalue("postgres_url"), "sb_deals") as (url, _schema):
        yield url


@pytest.fixture
def hub(org: RunningSandbox, app_url: str) -> Iterator[Hub]:
    built = make_hub(org, app_url)
    yield built
    built.engine.dispose()


def deal(partner_deal_id: str, email: str | None, company: str, **extra: Any) -> NewDeal:
    return NewDeal(partner="Acme Resellers", partner_deal_id=partner_deal_id, company=company,
                   end_user_first_name="Ada", end_user_last_name="Lovelace", end_user_email=email,
                   title=f"{company} licences", amount=12000, close_date=date(2026, 12, 15), **extra)


def link_of(hub: Hub, deal_id: int) -> tuple[str, str] | None:
    with Session(hub.engine) as session:
        link = session.scalar(select(Link).where(Link.flow == "deals", Link.app_key == str(deal_id)))
        return (link.sf_object, link.sf_id) if link else None


def test_shipped_recipe_yaml_is_the_default_recipe():
    assert shipped_recipe() == deals_recipe()


def test_story_routing_approval_conversion_and_two_way_sync(hub: Hub):
    client = hub.client
    (account,) = client.create("Account", [{"Name": "Analytical Engines"}])
    (contact,) = client.create("Contact", [{"LastName": "Lovelace", "Email": "ada@engines.example",
                                            "AccountId": account.id}])
    client.create("Contact", [{"LastName": "Twin A", "Email": "twin@dup.example"},
                              {"LastName": "Twin B", "Email": "twin@dup.example"}])
    matched = registry.register(hub.engine, deal("P-1", "ADA@engines.example", "Analytical Engines"))
    ambiguous = registry.register(hub.engine, deal("P-2", "twin@dup.example", "Dup Ltd"))
    unknown = registry.register(hub.engine, deal("P-3", "nobody@cold.example", "Cold Inc"))

    assert hub.sync().written == 0, "sync_on approved: submitted deals stay in the hub"
    for registered in (matched, ambiguous, unknown):
        registry.set_status(hub.engine, registered["id"], "Approved")
    report = hub.sync()
    registry.record_salesforce_objects(hub.engine)

    assert report.status == "succeeded", report.errors
    opportunity_link = link_of(hub, matched["id"])
    assert opportunity_link is not None and opportunity_link[0] == "Opportunity"
    assert link_of(hub, ambiguous["id"])[0] == "Lead" and link_of(hub, unknown["id"])[0] == "Lead"
    opportunity = client.get("Opportunity", opportunity_link[1])
    assert (opportunity["AccountId"], opportunity["ContactId"]) == (account.id, contact.id)
    assert opportunity["Name"] == "Analytical Engines licences" and opportunity["StageName"] == "Needs Analysis"
    assert opportunity["Amount"] == 12000 and opportunity["CloseDate"] == "2026-12-15"
    assert opportunity["Sync_with_Hub__c"] is True
    leads = client.query_all("SELECT Id, Email, Status, Sync_with_Hub__c, LeadSource, Owner.Username FROM Lead")
    assert sorted(lead["Email"] for lead in leads) == ["nobody@cold.example", "twin@dup.example"]
    assert {(lead["Status"], lead["Sync_with_Hub__c"], lead["LeadSource"]) for lead in leads} == {
        ("Working - Contacted", True, "Partner")}
    assert {lead["Owner"]["Username"] for lead in leads} == {"sales.manager@sandbox.example"}
    stored = registry.get(hub.engine, matched["id"])
    assert (stored["sf_object"], stored["sf_id"]) == opportunity_link

    # Salesforce edits come back; the Lead is converted and followed to its Opportunity.
    client.update("Opportunity", [{"Id": opportunity_link[1], "StageName": "Closed Won"}])
    lead_id = link_of(hub, unknown["id"])[1]
    converted = client.convert_lead(lead_id, "Closed - Converted", opportunity_name="Cold Inc licences")
    report = hub.sync()
    registry.record_salesforce_objects(hub.engine)
    assert report.status == "succeeded", report.errors
    assert registry.get(hub.engine, matched["id"])["status"] == "Won"
    assert link_of(hub, unknown["id"]) == ("Opportunity", converted["opportunityId"])
    assert registry.get(hub.engine, unknown["id"])["sf_object"] == "Opportunity"
    # The deal stays Approved: its values were sent to the new Opportunity, whose first stage does not come back.
    assert registry.get(hub.engine, unknown["id"])["status"] == "Approved"
    converted_opportunity = client.get("Opportunity", converted["opportunityId"])
    assert (converted_opportunity["StageName"], converted_opportunity["Amount"]) == ("Needs Analysis", 12000)
    assert converted_opportunity["Sync_with_Hub__c"] is True
    assert hub.sync().written == 0
    registry.set_status(hub.engine, unknown["id"], "Lost")
    hub.sync()
    assert client.get("Opportunity", converted["opportunityId"])["StageName"] == "Closed Lost"
    assert hub.sync().written == 0


def test_duplicate_registration_is_refused_naming_the_existing_deal(hub: Hub):
    first = registry.register(hub.engine, deal("P-1", "ada@engines.example", "Analytical Engines"))
    with pytest.raises(DealError) as same_id:
        registry.register(hub.engine, deal("P-1", "other@x.example", "Other"))
    assert same_id.value.code == "DUPLICATE_DEAL" and same_id.value.existing_id == first["id"]
    other_partner = NewDeal(partner="Beta Partners", partner_deal_id="B-9", company="analytical engines ",
                            end_user_last_name="Lovelace", end_user_email="Ada@Engines.example", title="Same deal")
    with pytest.raises(DealError) as same_customer:
        registry.register(hub.engine, other_partner)
    assert same_customer.value.existing_id == first["id"] and f"deal {first['id']}" in str(same_customer.value)
    registry.set_status(hub.engine, first["id"], "Lost")
    assert registry.register(hub.engine, other_partner)["partner"] == "Beta Partners", "closed deals do not block"
    with pytest.raises(DealError) as bad:
        registry.set_status(hub.engine, first["id"], "On Hold")
    assert bad.value.code == "INVALID_STATUS"


def test_unmapped_opportunity_stage_is_a_record_error_and_the_deal_keeps_its_status(hub: Hub):
    (account,) = hub.client.create("Account", [{"Name": "Analytical Engines"}])
    hub.client.create("Contact", [{"LastName": "Lovelace", "Email": "ada@engines.example", "AccountId": account.id}])
    registered = registry.register(hub.engine, deal("P-1", "ada@engines.example", "Analytical Engines"))
    registry.set_status(hub.engine, registered["id"], "Approved")
    hub.sync()
    hub.client.update("Opportunity", [{"Id": link_of(hub, registered["id"])[1], "StageName": "Negotiation/Review"}])

    report = hub.sync()

    assert report.failed == 1
    with Session(hub.engine) as session:
        (error,) = session.scalars(select(RecordError).where(RecordError.flow == "deals"))
        assert error.error_code == "UNMAPPED_VALUE" and "Negotiation/Review" in error.message
    assert registry.get(hub.engine, registered["id"])["status"] == "Approved"


def test_drafts_never_go_and_sync_on_created_sends_submitted_deals(org: RunningSandbox, tmp_path):  # noqa: ANN001
    hub = make_hub(org, f"sqlite:///{tmp_path / 'created.db'}", "created")
    try:
        registry.register(hub.engine, deal("P-1", "a@x.example", "Alpha", status="Draft"))
        registry.register(hub.engine, deal("P-2", "b@x.example", "Beta"))
        hub.sync()
        assert [lead["Company"] for lead in hub.client.query_all("SELECT Company FROM Lead")] == ["Beta"]
    finally:
        hub.engine.dispose()


def test_manual_sync_sends_one_deal_only_when_asked(org: RunningSandbox, tmp_path):  # noqa: ANN001
    hub = make_hub(org, f"sqlite:///{tmp_path / 'manual.db'}", "manual")
    try:
        first = registry.register(hub.engine, deal("P-1", "a@x.example", "Alpha"))
        registry.register(hub.engine, deal("P-2", "b@x.example", "Beta"))
        assert hub.sync().results == [], "a manual flow is not part of whole runs"
        report = hub.sync_record("deals", app_key=str(first["id"]))
        assert report.status == "succeeded", report.errors
        assert [lead["Company"] for lead in hub.client.query_all("SELECT Company FROM Lead")] == ["Alpha"]
    finally:
        hub.engine.dispose()


def test_opportunities_import_as_linked_deals_and_keep_syncing(hub: Hub):
    client = hub.client
    (account,) = client.create("Account", [{"Name": "Globex"}])
    (contact,) = client.create("Contact", [{"FirstName": "Hank", "LastName": "Scorpio", "Email": "Hank@globex.example",
                                            "AccountId": account.id}])
    created = client.create("Opportunity", [
        {"Name": "Globex renewal", "StageName": "Qualification", "CloseDate": "2026-11-30", "Amount": 5000,
         "AccountId": account.id, "ContactId": contact.id},
        {"Name": "Globex odd", "StageName": "Perception Analysis", "CloseDate": "2026-11-30",
         "AccountId": account.id},
        {"Name": "Other", "StageName": "Prospecting", "CloseDate": "2026-11-30"},
    ])

    result = import_opportunities(hub.engine, client, "Acme Resellers", f"AccountId = '{account.id}'")

    assert list(result.imported) == [created[0].id]
    assert "Perception Analysis" in result.skipped[created[1].id]
    imported = registry.get(hub.engine, result.imported[created[0].id])
    assert (imported["company"], imported["title"], imported["status"]) == ("Globex", "Globex renewal",
                                                                            "Pre-Approved")
    assert (imported["end_user_email"], imported["sf_object"]) == ("hank@globex.example", "Opportunity")
    again = import_opportunities(hub.engine, client, "Acme Resellers", f"AccountId = '{account.id}'")
    assert again.already_linked == [created[0].id] and not again.imported
    assert hub.sync().results[0].written_to_salesforce == 0, "an imported deal is not sent back as a new Lead"

    registry.set_status(hub.engine, imported["id"], "Won")
    hub.sync()
    assert client.get("Opportunity", created[0].id)["StageName"] == "Closed Won"
    with hub.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM sb_deals")).scalar_one() == 1
