"""Contract requests against the sandbox: submitted requests with their files come into the approval queue,
approval makes the profiles and copies the document, status and comment go back, documents go both ways,
signature is a webhook hook; each failure case is a record error of its request alone."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from contracts_support import make_hub, opportunity, submit
from sqlalchemy import select
from sqlalchemy.orm import Session

from salesbridge.flows.contracts import registry
from salesbridge.flows.contracts.decisions import approve
from salesbridge.flows.contracts.recipe import contracts_recipe, shipped_recipe
from salesbridge.flows.contracts.runner import run_contracts
from salesbridge.flows.contracts.signature import mark_signed, send_for_signature
from salesbridge.sandbox.server import RunningSandbox
from salesbridge.store.models import RecordError
from salesbridge.sync.runs import Hub

PDF = b"%PDF-1.4 master services agreement " + bytes(range(256)) * 8


@pytest.fixture
def hub(contracts_org: RunningSandbox, app_url: str) -> Iterator[Hub]:
    built = make_hub(contracts_org, app_url, max_file_bytes=50_000)
    yield built
    built.engine.dispose()


def open_errors(hub: Hub) -> dict[str, tuple[str, str]]:
    """app key -> (code, message) of the open errors of the flow."""
    with Session(hub.engine) as session:
        return {e.app_key: (e.error_code, e.message) for e in session.scalars(
            select(RecordError).where(RecordError.flow.like("contracts%"), RecordError.status == "open"))}


def by_sf_id(hub: Hub) -> dict[str, dict]:
    return {r["sf_id"]: r for r in registry.list_requests(hub.engine, limit=1000)}


def test_shipped_recipe_yaml_is_the_default_recipe():
    assert shipped_recipe() == contracts_recipe()


def test_story_submit_review_approve_sign_and_documents_both_ways(hub: Hub):
    client = hub.client
    (acme,) = client.create("Account", [{"Name": "Acme Corp"}])
    first_opportunity = opportunity(client, "Acme platform", acme.id)
    second_opportunity = opportunity(client, "Acme support", acme.id)
    first = submit(client, first_opportunity, file=("acme-msa.pdf", PDF))
    second = submit(client, second_opportunity, account_id=acme.id, file=("acme-support.pdf", b"support terms"))
    client.create("Contract_Request__c", [{"Opportunity__c": first_opportunity, "Status__c": "Draft"}])

    picked = run_contracts(hub)

    assert picked.status == "succeeded", (picked.errors, picked.pickup.failed)
    queue = registry.list_requests(hub.engine, status="In Review")
    assert sorted(r["sf_id"] for r in queue) == sorted([first, second]), "drafts stay in Salesforce"
    rows = by_sf_id(hub)
    assert (rows[first]["company_account_id"], rows[first]["company_name"]) == (acme.id, "Acme Corp")
    (document,) = registry.documents(hub.engine, rows[first]["id"])
    _, content = registry.document_content(hub.engine, rows[first]["id"], document["id"])
    assert content == PDF and document["size"] == len(PDF) and document["file_name"] == "acme-msa.pdf"
    assert document["checksum"] == hashlib.sha256(PDF).hexdigest()
    assert document["sf_content_document_id"].startswith("069") and document["sf_content_version_id"].startswith("068")
    statuses = {r["Id"]: r["Status__c"] for r in client.query_all("SELECT Id, Status__c FROM Contract_Request__c")}
    assert statuses[first] == statuses[second] == "In Review"

    approved = approve(hub.engine, rows[first]["id"], "olivia.operator", "Standard terms, fine.")
    assert approved["company_created"] is True
    again = approve(hub.engine, rows[second]["id"], "olivia.operator")
    assert again["company_created"] is False, "the company is matched by its Salesforce Account"
    assert [c["sf_account_id"] for c in registry.companies(hub.engine)] == [acme.id]
    profile = registry.profile_of(hub.engine, rows[first]["id"])
    assert profile is not None and profile["company"]["name"] == "Acme Corp"
    assert (profile["sf_opportunity_id"], str(profile["contract_value"])) == (first_opportunity, "48000.00")
    assert registry.documents(hub.engine, rows[first]["id"])[0]["contract_profile_id"] == profile["id"]

    delivered = run_contracts(hub)

    assert delivered.status == "succeeded", delivered.errors
    request = client.get("Contract_Request__c", first)
    assert (request["Status__c"], request["Reviewer_Comment__c"]) == ("Approved", "Standard terms, fine.")
    links = client.query_all("SELECT ContentDocumentId, LinkedEntityId FROM ContentDocumentLink "
                             f"WHERE LinkedEntityId = '{first_opportunity}'")
    assert [link["ContentDocumentId"] for link in links] == [document["sf_content_document_id"]]
    assert registry.documents(hub.engine, rows[first]["id"])[0]["shared_at"] is not None

    sent: list[dict] = []

    class Answer:
        status_code = 202
        text = "accepted"

    def post(url: str, json: dict, timeout: float) -> Answer:
        sent.append({"url": url, **json})
        return Answer()

    hub.config.contracts.signature_webhook = "https://esign.example/hooks"
    out = send_for_signature(hub.engine, rows[first]["id"], hub.config.contracts, post=post)
    assert (out["status"], out["webhook_state"], out["webhook_attempts"]) == ("Out for Signature", "delivered", 1)
    assert sent[0]["url"] == "https://esign.example/hooks" and sent[0]["request"]["salesforce_id"] == first
    assert sent[0]["documents"][0]["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert run_contracts(hub).status == "succeeded"
    assert client.get("Contract_Request__c", first)["Status__c"] == "Out for Signature"
    signed_pdf = b"%PDF-1.4 signed by both parties"
    signed = mark_signed(hub.engine, rows[first]["id"], hub.config.contracts, "acme-msa-signed.pdf", signed_pdf)
    assert signed["status"] == "Signed"

    final = run_contracts(hub)

    assert final.status == "succeeded", final.errors
    assert client.get("Contract_Request__c", first)["Status__c"] == "Signed"
    signed_doc = registry.documents(hub.engine, rows[first]["id"])[-1]
    assert signed_doc["kind"] == "signed" and signed_doc["sf_content_version_id"].startswith("068")
    version = client.get("ContentVersion", signed_doc["sf_content_version_id"])
    assert client.version_data(version["Id"]) == signed_pdf
    on_opportunity = {link["ContentDocumentId"] for link in client.query_all(
        f"SELECT ContentDocumentId FROM ContentDocumentLink WHERE LinkedEntityId = '{first_opportunity}'")}
    assert on_opportunity == {document["sf_content_document_id"], signed_doc["sf_content_document_id"]}
    on_request = {link["ContentDocumentId"] for link in client.query_all(
        f"SELECT ContentDocumentId FROM ContentDocumentLink WHERE LinkedEntityId = '{first}'")}
    assert signed_doc["sf_content_document_id"] in on_request
    assert registry.profile_of(hub.engine, rows[first]["id"])["status"] == "Signed"
    quiet = run_contracts(hub)
    assert quiet.api_calls == 1 and not quiet.sharing.linked, "a quiet round is one poll"


def test_a_scheduled_run_of_the_flow_is_a_whole_round(hub: Hub):
    """``salesbridge run`` runs the recipe's schedule as a round: the submitted request is picked up (its file
    downloaded, In Review in Salesforce), not only synced."""
    from salesbridge.triggers.service import TriggerService

    client = hub.client
    account = client.create("Account", [{"Name": "Scheduled Ltd"}])[0].id
    request_id = submit(client, opportunity(client, "Scheduled deal", account), file=("msa.pdf", PDF))
    assert hub.config.flow("contracts").schedule is not None

    report = TriggerService(hub).run_scheduled("contracts")

    assert report.status == "succeeded", report.errors
    assert by_sf_id(hub)[request_id]["status"] == "In Review"
    assert client.get("Contract_Request__c", request_id)["Status__c"] == "In Review"
    assert report.api_calls >= 4  # the flow's syncs, the pickup's queries and the download, all counted
