"""The failure cases of contract requests, each a record error of its request alone that a later round
retries: missing Account, no file, a file over the limit, an unmapped status; a rejected request; a failing
signature webhook; and the API calls of a round bounded by batches, not by requests (downloads aside)."""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from contracts_support import attach, make_hub, opportunity, submit
from sqlalchemy import select
from sqlalchemy.orm import Session

from salesbridge.flows.contracts import registry
from salesbridge.flows.contracts.decisions import approve, reject
from salesbridge.flows.contracts.registry import ContractError
from salesbridge.flows.contracts.runner import run_contracts
from salesbridge.flows.contracts.signature import mark_signed, send_for_signature
from salesbridge.sandbox.server import RunningSandbox
from salesbridge.store.models import RecordError
from salesbridge.sync.runs import Hub

LIMIT = 50_000


@pytest.fixture
def hub(contracts_org: RunningSandbox, tmp_path: Path) -> Iterator[Hub]:
    built = make_hub(contracts_org, f"sqlite:///{tmp_path / 'app.db'}", max_file_bytes=LIMIT)
    yield built
    built.engine.dispose()


def errors_by_sf_id(hub: Hub) -> dict[str, str]:
    with Session(hub.engine) as session:
        return {e.sf_id: e.error_code for e in session.scalars(
            select(RecordError).where(RecordError.flow.like("contracts%"), RecordError.status == "open"))}


def sf_status(hub: Hub) -> dict[str, str]:
    return {r["Id"]: r["Status__c"] for r in hub.client.query_all("SELECT Id, Status__c FROM Contract_Request__c")}


def test_each_failure_is_its_requests_alone_and_a_later_round_retries_it(hub: Hub):
    client = hub.client
    (acme,) = client.create("Account", [{"Name": "Acme Corp"}])
    good = submit(client, opportunity(client, "Good", acme.id), file=("good.pdf", b"good contract"))
    orphan_opportunity = opportunity(client, "No account", None)
    no_account = submit(client, orphan_opportunity, file=("orphan.pdf", b"orphan contract"))
    no_file = submit(client, opportunity(client, "No file", acme.id))
    large_id = submit(client, opportunity(client, "Large", acme.id), file=("large.pdf", b"x" * (LIMIT + 1)))
    withdrawn = submit(client, opportunity(client, "Withdrawn", acme.id), file=("w.pdf", b"w"), status="Withdrawn")

    first = run_contracts(hub)

    assert first.status == "partial"
    assert [r["sf_id"] for r in registry.list_requests(hub.engine, status="In Review")] == [good]
    assert errors_by_sf_id(hub) == {no_account: "MISSING_ACCOUNT", no_file: "MISSING_DOCUMENT",
                                    large_id: "FILE_TOO_LARGE", withdrawn: "UNMAPPED_VALUE"}
    with Session(hub.engine) as session:
        messages = {e.error_code: e.message for e in session.scalars(select(RecordError))}
    assert orphan_opportunity in messages["MISSING_ACCOUNT"] and "Account__c is empty" in messages["MISSING_ACCOUNT"]
    assert f"{LIMIT + 1:,} bytes" in messages["FILE_TOO_LARGE"] and "contracts.max_file_bytes" in messages[
        "FILE_TOO_LARGE"]
    assert "'Withdrawn'" in messages["UNMAPPED_VALUE"] and "contract_status" in messages["UNMAPPED_VALUE"]
    assert first.pickup.downloads == 1, "too large a file is never downloaded"
    statuses = sf_status(hub)
    assert statuses[good] == "In Review"
    assert {statuses[i] for i in (no_account, no_file, large_id)} == {"Submitted"}

    # The salesperson fixes each request in Salesforce; the next round gets them through.
    client.update("Contract_Request__c", [{"Id": no_account, "Account__c": acme.id},
                                          {"Id": withdrawn, "Status__c": "Submitted"}])
    attach(client, no_file, "late.pdf", b"late contract")
    (large_doc,) = client.query_all(f"SELECT ContentDocumentId FROM ContentDocumentLink "
                                    f"WHERE LinkedEntityId = '{large_id}'")
    client.create("ContentVersion", [{"ContentDocumentId": large_doc["ContentDocumentId"],
                                      "PathOnClient": "large-v2.pdf",
                                      "VersionData": base64.b64encode(b"smaller").decode("ascii")}])

    second = run_contracts(hub)

    assert second.status == "succeeded", (second.errors, second.pickup.failed)
    assert errors_by_sf_id(hub) == {}
    assert set(sf_status(hub).values()) == {"In Review"}
    large_row = next(r for r in registry.list_requests(hub.engine) if r["sf_id"] == large_id)
    assert [d["file_name"] for d in registry.documents(hub.engine, large_row["id"])] == ["large-v2.pdf"]


def test_rejected_request_gets_status_and_comment_back_and_no_profiles(hub: Hub):
    client = hub.client
    (acme,) = client.create("Account", [{"Name": "Acme Corp"}])
    risky = opportunity(client, "Risky", acme.id)
    request_id = submit(client, risky, file=("risky.pdf", b"risky"))
    run_contracts(hub)
    (row,) = registry.list_requests(hub.engine)
    with pytest.raises(ContractError) as no_comment:
        reject(hub.engine, row["id"], "olivia", "  ")
    assert no_comment.value.code == "COMMENT_REQUIRED"

    rejected = reject(hub.engine, row["id"], "olivia", "Liability cap missing; use the standard template.")
    round_ = run_contracts(hub)

    assert rejected["status"] == "Rejected" and round_.status == "succeeded"
    record = client.get("Contract_Request__c", request_id)
    assert (record["Status__c"], record["Reviewer_Comment__c"]) == (
        "Rejected", "Liability cap missing; use the standard template.")
    assert registry.companies(hub.engine) == [] and registry.profile_of(hub.engine, row["id"]) is None
    assert client.query_all(f"SELECT Id FROM ContentDocumentLink WHERE LinkedEntityId = '{risky}'") == [], \
        "a rejected request's file is not shared with the Opportunity"
    with pytest.raises(ContractError) as twice:
        approve(hub.engine, row["id"], "olivia")
    assert twice.value.code == "INVALID_STATUS"


class _Receiver(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Receiver.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_signature_webhook_failure_is_recorded_and_retried_then_signed(hub: Hub):
    client = hub.client
    (acme,) = client.create("Account", [{"Name": "Acme Corp"}])
    submit(client, opportunity(client, "Sign me", acme.id), file=("sign.pdf", b"to sign"))
    run_contracts(hub)
    (row,) = registry.list_requests(hub.engine)
    approve(hub.engine, row["id"], "olivia")
    settings = hub.config.contracts
    settings.signature_webhook = f"http://127.0.0.1:{_closed_port()}/hook"
    settings.webhook_timeout_seconds = 2

    failed = send_for_signature(hub.engine, row["id"], settings)

    assert (failed["status"], failed["webhook_state"], failed["webhook_attempts"]) == ("Out for Signature",
                                                                                       "failed", 1)
    assert "ConnectError" in failed["webhook_error"]
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings.signature_webhook = f"http://127.0.0.1:{server.server_port}/hook"
        _Receiver.received.clear()
        delivered = send_for_signature(hub.engine, row["id"], settings)
    finally:
        server.shutdown()
    assert (delivered["webhook_state"], delivered["webhook_attempts"], delivered["webhook_error"]) == (
        "delivered", 2, None)
    (sent,) = _Receiver.received
    assert sent["event"] == "contract_request.out_for_signature" and sent["signed_callback"].endswith("/signed")
    with pytest.raises(ContractError) as again:
        send_for_signature(hub.engine, row["id"], settings)
    assert again.value.code == "INVALID_STATUS", "a delivered hook is not sent twice"
    with pytest.raises(ContractError) as large:
        mark_signed(hub.engine, row["id"], settings, "signed.pdf", b"s" * (LIMIT + 1))
    assert large.value.code == "FILE_TOO_LARGE"
    assert mark_signed(hub.engine, row["id"], settings)["status"] == "Signed", "a signature without a file"
    run_contracts(hub)
    assert sf_status(hub) == {row["sf_id"]: "Signed"}


def test_api_calls_of_a_round_grow_with_batches_and_files_not_with_requests(hub: Hub,
                                                                           contracts_org: RunningSandbox):
    client = hub.client
    (acme,) = client.create("Account", [{"Name": "Acme Corp"}])
    counts = {}
    for size in (3, 12):
        for index in range(size):
            submit(client, opportunity(client, f"Deal {size}-{index}", None), account_id=acme.id,
                   file=(f"c{size}-{index}.pdf", b"contract %d" % index))
        served_before = contracts_org.org.api_usage.used
        round_ = run_contracts(hub)
        assert round_.status == "succeeded" and len(round_.pickup.picked_up) == size
        assert contracts_org.org.api_usage.used - served_before == round_.api_calls, "the org counts the same"
        counts[size] = (round_.api_calls, round_.pickup.downloads)
    # poll, Accounts, links, versions, poll, one collection update of the statuses; + one download per file.
    assert counts == {3: (6 + 3, 3), 12: (6 + 12, 12)}


def test_a_refused_document_link_is_its_requests_error_and_the_other_documents_go_on(hub: Hub):
    client = hub.client
    (acme,) = client.create("Account", [{"Name": "Acme Corp"}])
    kept, gone = opportunity(client, "Kept", acme.id), opportunity(client, "Gone", acme.id)
    submit(client, kept, file=("kept.pdf", b"kept"))
    submit(client, gone, file=("gone.pdf", b"gone"))
    run_contracts(hub)
    for row in registry.list_requests(hub.engine):
        approve(hub.engine, row["id"], "olivia")
    (deleted,) = client.delete([gone])
    assert deleted.success

    round_ = run_contracts(hub)

    assert round_.status == "partial" and len(round_.sharing.linked) == 1
    assert [code for code in round_.sharing.failed.values()] == ["ENTITY_IS_DELETED"]
    with Session(hub.engine) as session:
        (error,) = session.scalars(select(RecordError).where(RecordError.status == "open"))
    assert (error.flow, error.direction, error.error_code) == ("contracts.documents", "to_salesforce",
                                                              "ENTITY_IS_DELETED")
    assert "gone.pdf" in error.message
    assert len(client.query_all(f"SELECT Id FROM ContentDocumentLink WHERE LinkedEntityId = '{kept}'")) == 1
    again = run_contracts(hub)
    assert list(again.sharing.failed.values()) == ["ENTITY_IS_DELETED"], "tried again at the next round"
    with Session(hub.engine) as session:
        assert session.scalars(select(RecordError.attempts).where(RecordError.status == "open")).all() == [2]


def test_a_company_made_meanwhile_by_another_approval_is_reused(contracts_org: RunningSandbox, app_url: str,
                                                                monkeypatch: pytest.MonkeyPatch):
    """Two approvals of the same new company at once: the second insert meets the unique Account id and
    uses the profile the first made (a savepoint keeps the approval's transaction alive on PostgreSQL)."""
    from sqlalchemy import insert

    from salesbridge.flows.contracts import decisions
    from salesbridge.flows.contracts.registry import COMPANIES, now

    hub = make_hub(contracts_org, app_url)
    try:
        client = hub.client
        (acme,) = client.create("Account", [{"Name": "Acme Corp"}])
        submit(client, opportunity(client, "Acme", acme.id), file=("a.pdf", b"a"))
        run_contracts(hub)
        (row,) = registry.list_requests(hub.engine)
        with hub.engine.begin() as connection:
            connection.execute(insert(COMPANIES).values(sf_account_id=acme.id, name="Acme (made meanwhile)",
                                                        created_at=now(), updated_at=now()))
        looks: list[str] = []
        real_find = decisions._find_company

        def first_look_misses(connection, account_id):  # noqa: ANN001, ANN202
            looks.append(account_id)
            return None if len(looks) == 1 else real_find(connection, account_id)

        monkeypatch.setattr(decisions, "_find_company", first_look_misses)
        approved = approve(hub.engine, row["id"], "olivia")

        assert len(looks) == 2, "the insert collided and the profile was looked up again"
        assert approved["company_created"] is False and approved["status"] == "Approved"
        assert [c["name"] for c in registry.companies(hub.engine)] == ["Acme (made meanwhile)"]
        assert registry.profile_of(hub.engine, row["id"])["company"]["name"] == "Acme (made meanwhile)"
    finally:
        hub.engine.dispose()
