"""All four ready-made flows in one hub against one org: their schema files load together, their recipes merge
into one valid config (no clash of flow, table, value map or rule names), ``salesbridge check`` passes, and a
run of every flow with a record of each kind succeeds, each flow keeping to its own records."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from salesbridge.demo import demo_schema_file
from salesbridge.flows.contracts.recipe import sandbox_schema_file as contracts_schema
from salesbridge.flows.contracts.recipe import with_contracts
from salesbridge.flows.deals import registry as deals
from salesbridge.flows.deals.recipe import sandbox_schema_file as deals_schema
from salesbridge.flows.deals.recipe import with_deals
from salesbridge.flows.pipeline import registry as pipeline
from salesbridge.flows.pipeline.recipe import sandbox_schema_file as pipeline_schema
from salesbridge.flows.pipeline.recipe import with_pipeline
from salesbridge.flows.renewals import registry as renewals
from salesbridge.flows.renewals.recipe import sandbox_schema_file as renewals_schema
from salesbridge.flows.renewals.recipe import with_renewals
from salesbridge.sandbox.server import RunningSandbox, start_in_thread
from salesbridge.sync.check import check_hub
from salesbridge.sync.config import parse_config
from salesbridge.sync.runs import Hub

MANAGER = "sales.manager@sandbox.example"


@pytest.fixture
def full_org() -> Iterator[RunningSandbox]:
    running = start_in_thread(schema_files=(demo_schema_file(), deals_schema(), contracts_schema(),
                                            renewals_schema(), pipeline_schema()))
    try:
        yield running
    finally:
        running.stop()


def full_config(org: RunningSandbox, url: str) -> dict[str, Any]:
    config: dict[str, Any] = {"connections": {
        "salesforce": {"login_url": org.url, "client_id": "salesbridge", "client_secret": "salesbridge-secret",
                       "username": "admin@sandbox.example", "password": "sandbox-pass", "verify": str(org.ca_path)},
        "app": {"url": url}}}
    config = with_deals(config, "approved", owner=MANAGER)
    config = with_contracts(config)
    config = with_renewals(config)
    # The deal flow's Leads carry Sync_with_Hub__c; the lead tool keeps to the others.
    return with_pipeline(config, lead_filter="Sync_with_Hub__c = false")


def test_every_flow_in_one_hub_and_one_org(full_org: RunningSandbox, app_url: str) -> None:
    config = parse_config(full_config(full_org, app_url), "all.yaml")
    names = [flow.name for flow in config.flows]
    assert len(names) == len(set(names)) and len({flow.table for flow in config.flows}) == len(names)
    hub = Hub(config)
    try:
        assert check_hub(config, client=hub.client) == []
        client = hub.client
        (account,) = client.create("Account", [{"Name": "Globex"}])
        deal = deals.register(hub.engine, deals.NewDeal(
            partner="Acme Resellers", partner_deal_id="AR-1", company="Cold Inc", end_user_last_name="Nobody",
            end_user_email="nora@cold.example", title="Cold Inc licences", amount=5000,
            close_date=date(2026, 12, 15)))
        deals.set_status(hub.engine, deal["id"], "Approved")
        lead = pipeline.create(hub.engine, "leads", {"last_name": "Tool", "company": "Initech"})
        renewals.create_subscription(hub.engine, renewals.NewSubscription(
            name="Globex Pro", account_id=str(account.id), plan="Pro", quantity=10, unit_price=30,
            start_date=date(2026, 1, 1)))

        report = hub.sync()
        assert report.status == "succeeded", report.errors
        assert report.failed == 0

        leads = {row["LastName"]: row for row in client.query_all(
            "SELECT LastName, Sync_with_Hub__c, LeadSource FROM Lead")}
        assert leads["Nobody"]["Sync_with_Hub__c"] is True and leads["Tool"]["Sync_with_Hub__c"] is False
        # Each flow keeps to its own Leads: the deal is not in the lead tool, the tool's lead is not a deal.
        assert [row["last_name"] for row in pipeline.list_records(hub.engine, "leads")] == ["Tool"]
        assert [row["id"] for row in deals.list_deals(hub.engine)] == [deal["id"]]
        assert pipeline.get(hub.engine, "leads", lead["id"])["sf_id"] is not None
        (subscription,) = client.query_all("SELECT Name, Account__c FROM Subscription__c")
        assert subscription == {**subscription, "Name": "Globex Pro", "Account__c": account.id}
        # The lead tool's companies flow imports every Account, among them the subscription's customer.
        assert "Globex" in {row["name"] for row in pipeline.list_records(hub.engine, "companies")}
        assert hub.sync().written == 0
    finally:
        hub.engine.dispose()
