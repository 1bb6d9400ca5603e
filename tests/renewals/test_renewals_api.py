"""``/api/renewals`` and the Renewals page against a sandbox org: operators create subscriptions and renewal
change orders (a second renewal is a 409 naming the first), viewers read but cannot write, "sync now" runs the
chain, a sales order patch reaches its Opportunity."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote_plus

import pytest
from api_support import SF_CLIENT_SECRET, SF_PASSWORD, WebSetup, web_setup, write_config
from fastapi.testclient import TestClient
from renewals_support import renewals_config

from salesbridge.sandbox.server import RunningSandbox
from salesbridge.store.web_models import Role


@pytest.fixture
def web(tmp_path: Path, renewals_org: RunningSandbox) -> Iterator[WebSetup]:
    with web_setup(tmp_path) as setup:
        setup.app_url = f"sqlite:///{tmp_path / 'app.db'}"
        write_config(setup, renewals_config(renewals_org, setup.app_url))
        yield setup
        setup.client.assert_never_sent(SF_CLIENT_SECRET, SF_PASSWORD)


def subscription_body(account_id: str) -> dict[str, object]:
    return {"name": "Globex Pro", "account_id": account_id, "plan": "Pro", "quantity": 10, "unit_price": "120.00",
            "start_date": "2026-01-01"}


def test_create_renew_refuse_sync_and_patch(web: WebSetup) -> None:
    operator, viewer = web.as_role(Role.OPERATOR), web.as_role(Role.VIEWER)
    client = web.state.hub().client
    (account,) = client.create("Account", [{"Name": "Globex"}])
    body = subscription_body(account.id)
    assert web.client.post("/api/renewals/subscriptions", json=body, headers=viewer).status_code == 403
    created = web.client.post("/api/renewals/subscriptions", json=body, headers=operator)
    assert created.status_code == 201, created.text
    subscription = created.json()
    assert (subscription["end_date"], subscription["status"], subscription["sf_id"]) == ("2026-12-31", "Active",
                                                                                        None)
    bad = web.client.post("/api/renewals/subscriptions", json={**body, "account_id": "003000000000001AAA"},
                          headers=operator)
    assert bad.status_code == 422 and "is not a Salesforce Account Id" in bad.json()["detail"]

    renewal = web.client.post("/api/renewals/change-orders", json={"subscription_id": subscription["id"],
                                                                   "order_type": "Renewal", "quantity": 12},
                              headers=operator)
    assert renewal.status_code == 201, renewal.text
    made = renewal.json()
    assert made["change_order"]["renewal_subscription_id"] == made["renewal_subscription"]["id"]
    assert made["renewal_subscription"]["start_date"] == "2027-01-01"
    assert (made["sales_order"]["amount"], made["sales_order"]["status"]) == ("1440.00", "Draft")
    again = web.client.post("/api/renewals/change-orders", json={"subscription_id": subscription["id"],
                                                                 "order_type": "Renewal"}, headers=operator)
    assert again.status_code == 409
    assert again.json()["existing_change_order_id"] == made["change_order"]["id"]
    assert "already has an open renewal" in again.json()["detail"]
    missing = web.client.post("/api/renewals/change-orders", json={"subscription_id": 99, "order_type": "Renewal"},
                              headers=operator)
    assert missing.status_code == 404
    wrong = web.client.post("/api/renewals/change-orders", json={"subscription_id": subscription["id"],
                                                                 "order_type": "Pause"}, headers=operator)
    assert wrong.status_code == 422 and "'Pause' is not a change order type" in wrong.json()["detail"]

    synced = web.client.post("/api/renewals/sync", headers=operator)
    assert synced.status_code == 200, synced.text
    run = synced.json()
    assert (run["flows"], run["status"], run["written"], run["failed"]) == (
        ["subscriptions", "change_orders", "sales_orders"], "succeeded", 4, 0)
    order_id = made["sales_order"]["id"]
    order = web.client.get(f"/api/renewals/sales-orders/{order_id}", headers=viewer).json()
    assert order["sf_id"] and client.get("Opportunity", order["sf_id"])["StageName"] == "Prospecting"

    assert web.client.patch(f"/api/renewals/sales-orders/{order_id}", json={"status": "Quoted"},
                            headers=viewer).status_code == 403
    patched = web.client.patch(f"/api/renewals/sales-orders/{order_id}",
                               json={"amount": "1600.00", "status": "Quoted", "close_date": "2026-12-20"},
                               headers=operator)
    assert patched.status_code == 200 and patched.json()["amount"] == "1600.00"
    unknown = web.client.patch(f"/api/renewals/sales-orders/{order_id}", json={"status": "Won"}, headers=operator)
    assert unknown.status_code == 422 and "'Won' is not a sales order status" in unknown.json()["detail"]
    assert web.client.post("/api/renewals/sync", headers=operator).json()["written"] == 1
    opportunity = client.get("Opportunity", order["sf_id"])
    assert (opportunity["Amount"], opportunity["StageName"], opportunity["CloseDate"]) == (
        1600, "Proposal/Price Quote", "2026-12-20")

    (merged,) = client.create("Account", [{"Name": "Globex Group"}])
    moved = web.client.put(f"/api/renewals/subscriptions/{subscription['id']}/account",
                           json={"account_id": merged.id}, headers=operator)
    assert moved.status_code == 200 and moved.json()["account_id"] == merged.id
    assert web.client.put("/api/renewals/subscriptions/99/account", json={"account_id": merged.id},
                          headers=operator).status_code == 404
    assert web.client.post("/api/renewals/sync", headers=operator).json()["written"] == 3
    assert client.get("Opportunity", order["sf_id"])["AccountId"] == merged.id

    listed = web.client.get("/api/renewals/subscriptions", headers=viewer).json()
    assert [s["status"] for s in listed] == ["Draft", "Active"] and all(s["sf_id"] for s in listed)
    changes = web.client.get(f"/api/renewals/change-orders?subscription_id={listed[0]['id']}", headers=viewer)
    assert [c["id"] for c in changes.json()] == [made["change_order"]["id"]]
    assert web.client.get("/api/renewals/change-orders/7", headers=viewer).status_code == 404


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def test_the_renewals_page_adds_renews_refuses_changes_and_syncs(web: WebSetup) -> None:
    (account,) = web.state.hub().client.create("Account", [{"Name": "Globex"}])
    web.add_user("billing", Role.OPERATOR)
    web.login(web.client, "billing")
    page = web.client.get("/renewals")
    assert page.status_code == 200 and "No subscriptions yet." in page.text
    csrf = CSRF.search(page.text).group(1)  # type: ignore[union-attr]

    def post(path: str, data: dict[str, object]) -> str:
        answer = web.client.post(path, data={"csrf_token": csrf, **data}, follow_redirects=False)
        assert answer.status_code == 303, answer.text[:500]
        return unquote_plus(answer.headers["location"])

    form = {**subscription_body(account.id), "term_months": "12"}
    assert "Subscription 1 added." in post("/renewals/subscriptions", form)
    assert "Fill in: plan" in post("/renewals/subscriptions", {**form, "plan": ""})
    assert "Change order 1 created with renewal subscription 2 and sales order 1." in post(
        "/renewals/change-orders", {"subscription_id": "1", "order_type": "Renewal"})
    assert "Not created: subscription 1 already has an open renewal" in post(
        "/renewals/change-orders", {"subscription_id": "1", "order_type": "Renewal"})
    assert "Sales order 1 is Quoted, 1300.00." in post("/renewals/sales-orders/1",
                                                       {"amount": "1300", "status": "Quoted",
                                                        "close_date": "2026-12-31"})
    assert "Renewals synced (run 1): 4 written." in post("/renewals/sync", {})
    listed = web.client.get("/renewals").text
    assert 'id="sales-order-1"' in listed and 'href="/records/sales_orders?app_key=1"' in listed

    web.add_user("reader", Role.VIEWER)
    reader = TestClient(web.app)
    web.login(reader, "reader")
    read_only = reader.get("/renewals")
    assert read_only.status_code == 200 and "Globex Pro" in read_only.text
    assert 'id="add-subscription"' not in read_only.text
