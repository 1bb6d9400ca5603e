"""``/api/deals`` and the Deals page against a sandbox org: partners register with operator tokens,
duplicates are a 409 naming the existing deal, viewers read but cannot write, approval and "sync now" send
the deal, Opportunities import."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote_plus

import pytest
from api_support import SF_CLIENT_SECRET, SF_PASSWORD, WebSetup, connections, web_setup, write_config
from fastapi.testclient import TestClient

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
        write_config(setup, with_deals(connections(deals_org, setup.app_url), "manual"))
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


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def test_the_deals_page_registers_refuses_a_duplicate_approves_and_syncs(web: WebSetup) -> None:
    web.add_user("partner", Role.OPERATOR)
    web.login(web.client, "partner")
    page = web.client.get("/deals")
    assert page.status_code == 200 and "No deals registered yet." in page.text
    csrf = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    form = {key: str(value) for key, value in DEAL.items()}

    def post(path: str, data: dict[str, str]) -> str:
        answer = web.client.post(path, data={"csrf_token": csrf, **data}, follow_redirects=False)
        assert answer.status_code == 303, answer.text[:500]
        return unquote_plus(answer.headers["location"])

    assert "Deal 1 registered." in post("/deals", form)
    assert "Not registered: deal 1 (Acme Resellers P-1" in post("/deals", form)
    assert "Fill in: company" in post("/deals", {**form, "company": ""})
    assert "Deal 1 is Approved." in post("/deals/1/status", {"status": "Approved"})
    assert "Deal 1 synced" in post("/deals/1/sync", {})
    listed = web.client.get("/deals").text
    assert "Approved" in listed and "Lead <a" in listed and 'id="deal-sync-1"' in listed

    web.add_user("reader", Role.VIEWER)
    reader = TestClient(web.app)
    web.login(reader, "reader")
    read_only = reader.get("/deals")
    assert read_only.status_code == 200 and "Analytical Engines" in read_only.text
    assert 'id="register-deal"' not in read_only.text
