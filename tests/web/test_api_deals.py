"""``/api/deals`` against a sandbox org: partners register with operator tokens, duplicates are a 409 naming
the existing deal, viewers read but cannot write, approval and "sync now" send the deal, Opportunities import."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from api_support import SF_CLIENT_SECRET, SF_PASSWORD, WebSetup, web_setup

from salesbridge.demo import demo_schema_file
from salesbridge.flows.deals.recipe import sandbox_schema_file, with_deals
from salesbridge.sandbox.server import RunningSandbox, start_in_thread
from salesbridge.store.web_models import Role


@pytest.fixture
def deals_org() -> Iterator[RunningSandbox]:
    running = start_in_thread(schema_files=(demo_schema_file(), sandbox_schema_file()))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def web(tmp_path: Path, deals_org: RunningSandbox) -> Iterator[WebSetup]:
    with web_setup(tmp_path) as setup:
        setup.app_url = f"sqlite:///{tmp_path / 'app.db'}"
        config = with_deals({"connections": {
            "salesforce": {"login_url": deals_org.url, "client_id": "salesbridge", "client_secret": SF_CLIENT_SECRET,
                           "username": "admin@sandbox.example", "password": SF_PASSWORD,
                           "verify": str(deals_org.ca_path)},
            "app": {"url": setup.app_url}}}, "manual")
        setup.config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        yield setup
        setup.client.assert_never_sent(SF_CLIENT_SECRET, SF_PASSWORD)


DEAL = {"partner": "Acme Resellers", "partner_deal_id": "P-1", "company": "Analytical Engines",
        "end_user_first_name": "Ada", "end_user_last_name": "Lovelace", "end_user_email": "ada@engines.example",
        "title": "Engines licences", "amount": "12000.00", "close_date": "2026-12-15"}


def test_register_list_approve_sync_and_refuse_duplicates(web: WebSetup, deals_org: RunningSandbox) -> None:
    operator, viewer = web.as_role(Role.OPERATOR), web.as_role(Role.VIEWER)
    assert web.client.post("/api/deals", json=DEAL, headers=viewer).status_code == 403
    created = web.client.post("/api/deals", json=DEAL, headers=operator)
    assert created.status_code == 201, created.text
    deal = created.json()
    assert (deal["status"], deal["sf_id"]) == ("Submitted", None)

    duplicate = web.client.post("/api/deals", json={**DEAL, "partner": "Beta", "partner_deal_id": "B-1"},
                                headers=operator)
    assert duplicate.status_code == 409
    assert duplicate.json()["existing_deal_id"] == deal["id"] and f"deal {deal['id']}" in duplicate.json()["detail"]
    assert web.client.post("/api/deals", json=DEAL, headers=operator).status_code == 409

    assert [d["id"] for d in web.client.get("/api/deals", headers=viewer).json()] == [deal["id"]]
    assert web.client.get("/api/deals/999", headers=viewer).status_code == 404
    bad = web.client.put(f"/api/deals/{deal['id']}/status", json={"status": "On Hold"}, headers=operator)
    assert bad.status_code == 422 and "On Hold" in bad.json()["detail"]
    approved = web.client.put(f"/api/deals/{deal['id']}/status", json={"status": "Approved"}, headers=operator)
    assert approved.json()["status"] == "Approved"

    synced = web.client.post(f"/api/deals/{deal['id']}/sync", headers=operator)
    assert synced.status_code == 200, synced.text
    body = synced.json()
    assert body["status"] == "succeeded" and body["written"] == 1
    assert body["deal"]["sf_object"] == "Lead" and body["deal"]["sf_id"]
    lead = web.state.hub().client.get("Lead", body["deal"]["sf_id"])
    assert (lead["Company"], lead["Status"], lead["Sync_with_Hub__c"]) == ("Analytical Engines",
                                                                          "Working - Contacted", True)


def test_opportunities_import_through_the_api(web: WebSetup) -> None:
    client = web.state.hub().client
    (account,) = client.create("Account", [{"Name": "Globex"}])
    (opportunity,) = client.create("Opportunity", [{"Name": "Globex renewal", "StageName": "Prospecting",
                                                    "CloseDate": "2026-11-30", "AccountId": account.id}])
    answer = web.client.post("/api/deals/import", json={"partner": "Acme", "where": f"AccountId = '{account.id}'"},
                             headers=web.as_role(Role.OPERATOR))
    assert answer.status_code == 200, answer.text
    deal_id = answer.json()["imported"][opportunity.id]
    deal = web.client.get(f"/api/deals/{deal_id}", headers=web.as_role(Role.VIEWER)).json()
    assert (deal["title"], deal["status"], deal["sf_object"]) == ("Globex renewal", "Submitted", "Opportunity")
