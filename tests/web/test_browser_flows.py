"""The business-flow pages in a real browser (Chromium under Playwright), against a sandbox org.

Deals: an operator registers a deal with the form, approves it and sends it with "Sync now"; the page then
shows the Lead it became, and the Lead is in the org. Contracts: a request submitted in Salesforce with its
file is picked up by "Run now", approved from the queue with a comment, and the decision and the document
reach Salesforce. Renewals: a subscription and its renewal change order made with the forms, synced, and the
sales order's edit reaching its Opportunity. Pipeline: a lead added, synced, transferred and won on the page;
the Lead in Salesforce follows, converted. Every page passes the checks of ``browser_support`` and is kept as
a screenshot.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from api_support import PASSWORD, SF_CLIENT_SECRET, SF_PASSWORD, WebSetup, connections, web_setup, write_config
from browser_support import WebServer, assert_focus_visible, assert_usable, shoot
from playwright.sync_api import Page, expect

from salesbridge.demo import demo_schema_file
from salesbridge.flows.contracts.recipe import sandbox_schema_file as contracts_schema_file
from salesbridge.flows.contracts.recipe import with_contracts
from salesbridge.flows.deals.recipe import sandbox_schema_file, with_deals
from salesbridge.flows.pipeline.recipe import sandbox_schema_file as pipeline_schema_file
from salesbridge.flows.pipeline.recipe import with_pipeline
from salesbridge.flows.renewals.recipe import sandbox_schema_file as renewals_schema_file
from salesbridge.flows.renewals.recipe import with_renewals
from salesbridge.salesforce import LoginSettings, SalesforceClient
from salesbridge.sandbox.server import RunningSandbox, start_in_thread
from salesbridge.store.web_models import Role


@contextmanager
def flow_org(schema_file: str) -> Iterator[RunningSandbox]:
    """A sandbox org with the example schema and one flow's schema file."""
    running = start_in_thread(schema_files=(demo_schema_file(), schema_file))
    try:
        yield running
    finally:
        running.stop()


@contextmanager
def flow_site(tmp_path: Path, org: RunningSandbox, add_recipe: Callable[[dict[str, Any]], dict[str, Any]],
              username: str) -> Iterator[tuple[WebSetup, str]]:
    """The web app under uvicorn with a config of one flow's recipe against ``org``, and an operator."""
    with web_setup(tmp_path) as setup, WebServer(setup) as server:
        write_config(setup, add_recipe(connections(org, f"sqlite:///{tmp_path / 'app.db'}")))
        setup.add_user(username, Role.OPERATOR)
        yield setup, server.url
        setup.state.runs.wait(60)


@pytest.fixture
def deals_org() -> Iterator[RunningSandbox]:
    with flow_org(sandbox_schema_file()) as running:
        yield running


@pytest.fixture
def deals_site(tmp_path: Path, deals_org: RunningSandbox) -> Iterator[tuple[WebSetup, str]]:
    with flow_site(tmp_path, deals_org, lambda config: with_deals(config, "approved"), "partner-desk") as site:
        yield site


def log_in(page: Page, url: str, path: str, username: str) -> None:
    page.goto(f"{url}{path}")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    expect(page).to_have_url(f"{url}{path}")


def test_register_approve_and_send_a_deal_in_chromium(deals_site: tuple[WebSetup, str], deals_org: RunningSandbox,
                                                      page: Page) -> None:
    _setup, url = deals_site
    log_in(page, url, "/deals", "partner-desk")
    expect(page.get_by_text("No deals registered yet.")).to_be_visible()
    assert_focus_visible(page)

    for label, value in (("Partner", "Acme Resellers"), ("Partner deal id", "AR-7"), ("Company", "Cold Inc"),
                         ("Title", "Cold Inc licences"), ("End user first name", "Nora"),
                         ("End user last name", "Nobody"), ("End user email", "nora@cold.example"),
                         ("Amount", "5000"), ("Close date", "2026-12-15")):
        page.get_by_label(label, exact=True).fill(value)
    shoot(page, "flows-01-deal-form")
    page.get_by_label("Close date", exact=True).press("Enter")
    row = page.locator("tr", has_text="AR-7")
    expect(row).to_contain_text("Submitted")

    # Approve it, then send it now: it becomes a Lead (no Contact has the end user's email).
    row.get_by_label("Status of deal 1").select_option("Approved")
    row.get_by_role("button", name="Set").click()
    row = page.locator("tr", has_text="AR-7")
    expect(row).to_contain_text("Approved")
    row.get_by_role("button", name="Sync now").click()
    expect(page.locator("tr", has_text="AR-7")).to_contain_text("Lead 00Q", timeout=60_000)
    shoot(page, "flows-02-deal-sent")

    (lead,) = [lead for lead in deals_org.org.store.records("Lead", False) if lead["Email"] == "nora@cold.example"]
    assert (lead["Company"], lead["Status"], lead["LeadSource"]) == ("Cold Inc", "Working - Contacted", "Partner")


@pytest.fixture
def contracts_org() -> Iterator[RunningSandbox]:
    with flow_org(contracts_schema_file()) as running:
        yield running


@pytest.fixture
def contracts_site(tmp_path: Path, contracts_org: RunningSandbox) -> Iterator[tuple[WebSetup, str]]:
    with flow_site(tmp_path, contracts_org, with_contracts, "contract-desk") as site:
        yield site


def org_client(org: RunningSandbox) -> SalesforceClient:
    """A client of the org, as a Salesforce user working beside the hub."""
    return SalesforceClient(LoginSettings(login_url=org.url, flow="password", client_id="salesbridge",
                                          client_secret=SF_CLIENT_SECRET, username="admin@sandbox.example",
                                          password=SF_PASSWORD, verify=str(org.ca_path)))


def submit_request(org: RunningSandbox) -> tuple[str, str]:
    """A salesperson's request in Salesforce: an Opportunity at an Account, the request with its file attached,
    then submitted. Answers (request Id, Opportunity Id)."""
    with org_client(org) as client:
        (account,) = client.create("Account", [{"Name": "Initech"}])
        (opportunity,) = client.create("Opportunity", [{"Name": "Initech MSA", "StageName": "Negotiation/Review",
                                                        "CloseDate": "2026-12-31", "AccountId": account.id}])
        (request,) = client.create("Contract_Request__c", [{"Opportunity__c": opportunity.id,
                                                            "Account__c": account.id, "Status__c": "Draft",
                                                            "Contract_Type__c": "New Business"}])
        client.create("ContentVersion", [{"Title": "msa", "PathOnClient": "msa.pdf",
                                          "VersionData": base64.b64encode(b"%PDF-1.4 msa").decode(),
                                          "FirstPublishLocationId": request.id}])
        client.update("Contract_Request__c", [{"Id": request.id, "Status__c": "Submitted"}])
    return str(request.id), str(opportunity.id)


def test_pick_up_and_approve_a_contract_request_in_chromium(contracts_site: tuple[WebSetup, str],
                                                            contracts_org: RunningSandbox, page: Page) -> None:
    _setup, url = contracts_site
    request_id, opportunity_id = submit_request(contracts_org)
    log_in(page, url, "/contracts", "contract-desk")
    expect(page.get_by_text("Nothing waits for a decision.")).to_be_visible()

    page.get_by_role("button", name="Run now").click()
    expect(page.get_by_role("status")).to_contain_text("1 picked up", timeout=60_000)
    queue = page.locator("#approval-queue")
    expect(queue).to_contain_text("Initech")
    expect(queue.get_by_role("link", name="msa.pdf")).to_be_visible()
    shoot(page, "flows-03-contracts-queue")

    page.get_by_label("Comment on request 1").fill("Standard terms, approved.")
    page.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("status")).to_contain_text("Request 1 approved", timeout=60_000)
    expect(page.locator("#request-1")).to_contain_text("Approved")
    expect(page.locator("#request-1")).to_contain_text("in Salesforce")
    expect(page.get_by_text("Nothing waits for a decision.")).to_be_visible()
    assert_usable(page, "contracts after approval")
    shoot(page, "flows-04-contracts-approved")

    store = contracts_org.org.store
    (request,) = [r for r in store.records("Contract_Request__c", False) if r["Id"] == request_id]
    assert (request["Status__c"], request["Reviewer_Comment__c"]) == ("Approved", "Standard terms, approved.")
    linked = {link["LinkedEntityId"] for link in store.records("ContentDocumentLink", False)}
    assert {request_id, opportunity_id} <= linked  # the document is on the Opportunity too


@pytest.fixture
def renewals_org() -> Iterator[RunningSandbox]:
    with flow_org(renewals_schema_file()) as running:
        yield running


@pytest.fixture
def renewals_site(tmp_path: Path, renewals_org: RunningSandbox) -> Iterator[tuple[WebSetup, str]]:
    with flow_site(tmp_path, renewals_org, with_renewals, "billing-desk") as site:
        yield site


def test_renew_a_subscription_and_book_its_sales_order_in_chromium(renewals_site: tuple[WebSetup, str],
                                                                   renewals_org: RunningSandbox, page: Page) -> None:
    _setup, url = renewals_site
    with org_client(renewals_org) as client:
        account_id = str(client.create("Account", [{"Name": "Globex"}])[0].id)
    log_in(page, url, "/renewals", "billing-desk")

    for label, value in (("Name", "Globex Pro"), ("Salesforce Account Id", account_id), ("Plan", "Pro"),
                         ("Quantity", "10"), ("Unit price (per term)", "300"), ("Start date", "2026-01-01")):
        page.locator("#add-subscription").get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("#subscriptions")).to_contain_text("Globex Pro")

    page.get_by_label("Subscription id").fill("1")
    page.get_by_role("button", name="Create change order").click()
    expect(page.locator("#change-orders")).to_contain_text("Renewal")
    expect(page.locator("#sales-orders tbody tr")).to_have_count(1)
    shoot(page, "flows-05-renewals-before-sync")

    page.get_by_role("button", name="Sync renewals now").click()
    expect(page.locator("#sales-orders")).to_contain_text("006", timeout=60_000)
    page.get_by_label("Status of sales order 1").select_option("Booked")
    page.locator("#sales-orders").get_by_role("button", name="Save").click()
    expect(page.locator("#sales-orders")).to_contain_text("Booked")
    page.get_by_role("button", name="Sync renewals now").click()
    expect(page.get_by_role("status")).to_be_visible(timeout=60_000)
    shoot(page, "flows-06-renewals-booked")

    store = renewals_org.org.store
    (opportunity,) = store.records("Opportunity", False)
    assert (opportunity["AccountId"], opportunity["StageName"]) == (account_id, "Closed Won")
    assert {s["Name"] for s in store.records("Subscription__c", False)} >= {"Globex Pro"}
    assert len(store.records("Subscription_Change_Order__c", False)) == 1


@pytest.fixture
def pipeline_org() -> Iterator[RunningSandbox]:
    with flow_org(pipeline_schema_file()) as running:
        yield running


@pytest.fixture
def pipeline_site(tmp_path: Path, pipeline_org: RunningSandbox) -> Iterator[tuple[WebSetup, str]]:
    with flow_site(tmp_path, pipeline_org, with_pipeline, "sales-ops") as site:
        yield site


def test_add_transfer_and_win_a_lead_in_chromium(pipeline_site: tuple[WebSetup, str], pipeline_org: RunningSandbox,
                                                 page: Page) -> None:
    _setup, url = pipeline_site
    log_in(page, url, "/pipeline", "sales-ops")
    for label, value in (("First name", "Grace"), ("Last name", "Hopper"), ("Company", "Navy Labs"),
                         ("Email", "grace@navylabs.example")):
        page.locator("#add-lead").get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name="Add lead").click()
    lead = page.locator("#lead-1")
    expect(lead).to_contain_text("New")

    page.get_by_role("button", name="Sync now").click()
    expect(page.locator("#lead-1")).to_contain_text("Lead 00Q", timeout=60_000)
    expect(page.locator("#lead-1")).to_contain_text("sales.manager@sandbox.example")  # the default owner

    page.get_by_label("New owner of lead 1").fill("admin@sandbox.example")
    page.locator("#lead-1").get_by_role("button", name="Transfer").click()
    page.get_by_label("Stage of lead 1").select_option("Won")
    page.locator("#lead-1").get_by_role("button", name="Move").click()
    expect(page.locator("#lead-1")).to_contain_text("Won")
    page.get_by_role("button", name="Sync now").click()
    expect(page.locator("#lead-1")).to_contain_text("Contact 003", timeout=60_000)
    events = page.locator("#pipeline-events")
    expect(events).to_contain_text("transferred")
    expect(events).to_contain_text("converted")
    assert_usable(page, "pipeline after the win")
    shoot(page, "flows-07-pipeline-won")

    store = pipeline_org.org.store
    (lead_record,) = store.records("Lead", False)
    (admin,) = [u for u in store.records("User", False) if u["Username"] == "admin@sandbox.example"]
    assert (lead_record["IsConverted"], lead_record["Status"]) == (True, "Closed - Converted")
    assert lead_record["OwnerId"] == admin["Id"]
