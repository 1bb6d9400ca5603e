"""``/api/contracts`` against a sandbox org: the queue, documents, decisions delivered to Salesforce at once,
the signature hook and the inbound ``/signed`` with a file; viewers read but cannot decide."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote_plus

import pytest
from api_support import SF_CLIENT_SECRET, SF_PASSWORD, WebSetup, web_setup, write_config
from contracts_support import hub_config, opportunity, submit
from fastapi.testclient import TestClient

from salesbridge.salesforce import LoginSettings, SalesforceClient
from salesbridge.sandbox.server import RunningSandbox
from salesbridge.store.web_models import Role


@pytest.fixture
def client(contracts_org: RunningSandbox) -> Iterator[SalesforceClient]:
    built = SalesforceClient(LoginSettings(
        login_url=contracts_org.url, flow="password", client_id="salesbridge", client_secret=SF_CLIENT_SECRET,
        username="admin@sandbox.example", password=SF_PASSWORD, verify=str(contracts_org.ca_path)))
    yield built
    built.close()


@pytest.fixture
def web(tmp_path: Path, contracts_org: RunningSandbox) -> Iterator[WebSetup]:
    with web_setup(tmp_path) as setup:
        setup.app_url = f"sqlite:///{tmp_path / 'app.db'}"
        write_config(setup, hub_config(contracts_org, setup.app_url, max_file_bytes=1000))
        yield setup
        setup.client.assert_never_sent(SF_CLIENT_SECRET, SF_PASSWORD)


def test_queue_decisions_documents_and_signature_through_the_api(web: WebSetup, client: SalesforceClient) -> None:
    operator, viewer = web.as_role(Role.OPERATOR), web.as_role(Role.VIEWER)
    (acme,) = client.create("Account", [{"Name": "Acme Corp"}])
    won = opportunity(client, "Acme platform", acme.id)
    first = submit(client, won, file=("msa.pdf", b"%PDF master agreement"))
    second = submit(client, opportunity(client, "Acme other", acme.id), file=("other.pdf", b"%PDF other"))

    assert web.client.post("/api/contracts/run", headers=viewer).status_code == 403
    ran = web.client.post("/api/contracts/run", headers=operator)
    assert ran.status_code == 200, ran.text
    assert ran.json()["status"] == "succeeded" and len(ran.json()["picked_up"]) == 2
    queue = web.client.get("/api/contracts/queue", headers=viewer).json()
    assert [item["sf_id"] for item in queue] == [first, second]
    request_id = queue[0]["id"]
    detail = web.client.get(f"/api/contracts/{request_id}", headers=viewer).json()
    (document,) = detail["documents"]
    assert (document["file_name"], document["kind"], detail["contract_profile"]) == ("msa.pdf", "submitted", None)
    download = web.client.get(f"/api/contracts/{request_id}/documents/{document['id']}", headers=viewer)
    assert download.content == b"%PDF master agreement"
    assert download.headers["x-checksum-sha256"] == document["checksum"]
    assert web.client.get(f"/api/contracts/{request_id}/documents/999", headers=viewer).status_code == 404

    assert web.client.post(f"/api/contracts/{request_id}/approve", json={}, headers=viewer).status_code == 403
    approved = web.client.post(f"/api/contracts/{request_id}/approve", json={"comment": "Fine."}, headers=operator)
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert body["delivered"] is True and body["request"]["status"] == "Approved"
    assert body["request"]["reviewer"] == "operator-user"
    assert body["request"]["contract_profile"]["company"]["sf_account_id"] == acme.id
    record = client.get("Contract_Request__c", first)
    assert (record["Status__c"], record["Reviewer_Comment__c"]) == ("Approved", "Fine.")
    assert len(client.query_all(f"SELECT Id FROM ContentDocumentLink WHERE LinkedEntityId = '{won}'")) == 1
    again = web.client.post(f"/api/contracts/{request_id}/approve", json={}, headers=operator)
    assert again.status_code == 422 and "INVALID_STATUS" in again.json()["detail"]
    assert web.client.post(f"/api/contracts/{queue[1]['id']}/reject", json={"comment": ""},
                           headers=operator).status_code == 422
    rejected = web.client.post(f"/api/contracts/{queue[1]['id']}/reject", json={"comment": "No."}, headers=operator)
    assert rejected.json()["request"]["status"] == "Rejected"
    assert client.get("Contract_Request__c", second)["Status__c"] == "Rejected"

    out = web.client.post(f"/api/contracts/{request_id}/signature", headers=operator).json()
    assert (out["request"]["status"], out["request"]["webhook_state"]) == ("Out for Signature", "none")
    too_large = web.client.post(f"/api/contracts/{request_id}/signed", headers=operator,
                                files={"file": ("signed.pdf", b"s" * 1001, "application/pdf")})
    assert too_large.status_code == 413 and "FILE_TOO_LARGE" in too_large.json()["detail"]
    signed = web.client.post(f"/api/contracts/{request_id}/signed", headers=operator,
                             files={"file": ("signed.pdf", b"%PDF signed", "application/pdf")})
    assert signed.status_code == 200, signed.text
    assert signed.json()["delivered"] is True
    kinds = [(d["kind"], d["sf_content_version_id"] is not None) for d in signed.json()["request"]["documents"]]
    assert kinds == [("submitted", True), ("signed", True)]
    assert client.get("Contract_Request__c", first)["Status__c"] == "Signed"
    assert len(client.query_all(f"SELECT Id FROM ContentDocumentLink WHERE LinkedEntityId = '{won}'")) == 2
    listed = web.client.get("/api/contracts", params={"status": "Signed"}, headers=viewer).json()
    assert [item["id"] for item in listed] == [request_id]


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def test_the_contracts_page_shows_the_queue_and_decides(web: WebSetup, client: SalesforceClient) -> None:
    (acme,) = client.create("Account", [{"Name": "Acme Corp"}])
    first = submit(client, opportunity(client, "One", acme.id), file=("one.pdf", b"one"))
    second = submit(client, opportunity(client, "Two", acme.id), file=("two.pdf", b"two"))
    web.add_user("approver", Role.OPERATOR)
    web.login(web.client, "approver")
    page = web.client.get("/contracts")
    assert page.status_code == 200 and "Nothing waits for a decision." in page.text
    csrf = CSRF.search(page.text).group(1)  # type: ignore[union-attr]

    def post(path: str, data: dict[str, str], **extra: object) -> str:
        answer = web.client.post(path, data={"csrf_token": csrf, **data}, follow_redirects=False, **extra)
        assert answer.status_code == 303, answer.text[:500]
        return unquote_plus(answer.headers["location"])

    assert "Round succeeded: 2 picked up, 0 failed" in post("/contracts/run", {})
    queue = web.client.get("/contracts").text
    assert 'id="approve-1"' in queue and "one.pdf" in queue and "Acme Corp" in queue
    assert "a rejection needs a comment" in post("/contracts/2/decide", {"decision": "reject", "comment": ""})
    assert "Request 1 approved. Salesforce is up to date." in post("/contracts/1/decide",
                                                                   {"decision": "approve", "comment": "ok"})
    assert "Request 2 rejected." in post("/contracts/2/decide", {"decision": "reject", "comment": "no"})
    assert "webhook none" in post("/contracts/1/signature", {})
    assert "Request 1 is Signed." in post("/contracts/1/signed", {},
                                          files={"file": ("one-signed.pdf", b"signed", "application/pdf")})
    statuses = {r["Id"]: r["Status__c"] for r in client.query_all("SELECT Id, Status__c FROM Contract_Request__c")}
    assert statuses == {first: "Signed", second: "Rejected"}
    listed = web.client.get("/contracts").text
    assert "one-signed.pdf</a>\n        [signed, in Salesforce]" in listed

    web.add_user("reader", Role.VIEWER)
    reader = TestClient(web.app)
    web.login(reader, "reader")
    read_only = reader.get("/contracts")
    assert read_only.status_code == 200 and "one.pdf" in read_only.text and 'id="contracts-run"' not in read_only.text
