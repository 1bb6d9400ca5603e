"""``salesbridge demo --flow contracts``: the contract request story, offline against the sandbox org.

Salespeople submit six Contract Requests with their files; a round picks up the two that can be reviewed and
names why the others cannot (no Account, no file, a file over the limit, an unmapped status). The approver
approves one (a new Company Profile), approves another of the same company (the profile is reused) and
rejects a third with a comment; statuses and comments go back, the contract file appears on the Opportunity.
The approved one goes out for signature (the webhook is a local receiver that only prints what it gets, in
the place of an e-signature service's endpoint), comes back signed, and the signed copy lands in Salesforce.
"""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from salesbridge.flows._demo import flow_demo_hub
from salesbridge.flows.contracts import registry
from salesbridge.flows.contracts.decisions import approve, reject
from salesbridge.flows.contracts.recipe import sandbox_schema_file, with_contracts
from salesbridge.flows.contracts.runner import ContractsRun, run_contracts
from salesbridge.flows.contracts.signature import mark_signed, send_for_signature
from salesbridge.salesforce import SalesforceClient
from salesbridge.store.models import RecordError
from salesbridge.sync.runs import Hub

MAX_FILE_BYTES = 100_000


class _Hook(BaseHTTPRequestHandler):
    """Prints what the hub POSTs when a request goes out for signature, and answers 202."""

    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        _Hook.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(202)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


def run_contracts_demo(workdir: Path, console: Console) -> dict[str, Any]:
    """Play the story in ``workdir`` (its previous files are replaced); answers the end state of both sides."""
    hook = HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    _Hook.received.clear()
    webhook = f"http://127.0.0.1:{hook.server_port}/esign"
    try:
        with flow_demo_hub(workdir, console, title="contracts: contract requests", schema_file=sandbox_schema_file(),
                           add_recipe=lambda config: with_contracts(config, signature_webhook=webhook,
                                                                    max_file_bytes=MAX_FILE_BYTES),
                           note=f"files up to {MAX_FILE_BYTES:,} bytes; signature webhook {webhook} (a local "
                                "receiver printing what it gets)") as hub:
            return _story(hub, console)
    finally:
        hook.shutdown()


def _file(client: SalesforceClient, record_id: str, name: str, data: bytes) -> None:
    client.create("ContentVersion", [{"PathOnClient": name, "FirstPublishLocationId": record_id,
                                      "VersionData": base64.b64encode(data).decode("ascii")}])


def _request(client: SalesforceClient, opportunity_id: str, file: tuple[str, bytes] | None,
             status: str = "Submitted", value: int = 48000) -> str:
    (created,) = client.create("Contract_Request__c", [{
        "Opportunity__c": opportunity_id, "Status__c": "Draft", "Contract_Type__c": "New Business",
        "Start_Date__c": "2027-01-01", "End_Date__c": "2027-12-31", "Contract_Value__c": value}])
    if file is not None:
        _file(client, str(created.id), *file)
    client.update("Contract_Request__c", [{"Id": created.id, "Status__c": status}])
    return str(created.id)


def _story(hub: Hub, console: Console) -> dict[str, Any]:
    client = hub.client
    acme, umbrella = (r.id for r in client.create("Account", [{"Name": "Acme Corp"}, {"Name": "Umbrella"}]))
    opportunities = client.create("Opportunity", [
        {"Name": name, "StageName": "Negotiation/Review", "CloseDate": "2026-12-31", **({"AccountId": a} if a else {})}
        for name, a in [("Acme platform", acme), ("Acme support", acme), ("Umbrella lab", umbrella),
                        ("Globex (no account)", None), ("Initech", acme), ("Hooli", acme), ("Soylent", acme)]])
    platform, support, lab, globex, initech, hooli, soylent = (str(o.id) for o in opportunities)
    pdf = b"%PDF-1.4 Master Services Agreement, Acme Corp\n" + b"." * 2000
    console.rule("1. salespeople submit contract requests with their files")
    requests = {
        "Acme platform": _request(client, platform, ("acme-msa.pdf", pdf)),
        "Acme support": _request(client, support, ("acme-support.pdf", b"%PDF support terms")),
        "Umbrella lab": _request(client, lab, ("umbrella.pdf", b"%PDF lab terms")),
        "Globex": _request(client, globex, ("globex.pdf", b"%PDF globex")),
        "Initech": _request(client, initech, ("initech-scan.pdf", b"x" * (MAX_FILE_BYTES + 1))),
        "Hooli": _request(client, hooli, None),
        "Soylent": _request(client, soylent, ("soylent.pdf", b"%PDF"), status="Withdrawn"),
    }
    console.print(f"{len(requests)} Contract Requests in Salesforce: {', '.join(requests)}")

    console.rule("2. a round picks them up: files downloaded, the reviewable ones In Review")
    _round(hub, console)
    _errors(hub, console)
    queue = {r["sf_id"]: r["id"] for r in registry.list_requests(hub.engine, status="In Review")}

    console.rule("3. the approver decides")
    first = approve(hub.engine, queue[requests["Acme platform"]], "olivia", "Standard terms; approved.")
    second = approve(hub.engine, queue[requests["Acme support"]], "olivia")
    reject(hub.engine, queue[requests["Umbrella lab"]], "olivia", "Liability cap missing: use the template.")
    console.print(f"Acme platform approved (company profile made: {first['company_created']}); Acme support "
                  f"approved (company profile made: {second['company_created']}); Umbrella lab rejected")
    _round(hub, console)
    links = client.query_all(f"SELECT ContentDocumentId FROM ContentDocumentLink WHERE LinkedEntityId = '{platform}'")
    console.print(f"the submitted file is now on Opportunity 'Acme platform' ({len(links)} file link)")

    console.rule("4. out for signature (webhook), signed, the signed copy back in Salesforce")
    out = send_for_signature(hub.engine, first["id"], hub.config.contracts)  # type: ignore[arg-type]
    console.print(f"webhook {out['webhook_state']}: the receiver got event {_Hook.received[-1]['event']} for "
                  f"{_Hook.received[-1]['request']['name']} with {len(_Hook.received[-1]['documents'])} document(s)")
    mark_signed(hub.engine, first["id"], hub.config.contracts, "acme-msa-signed.pdf",  # type: ignore[arg-type]
                b"%PDF-1.4 Master Services Agreement, signed by both parties")
    _round(hub, console)
    files = client.query_all(f"SELECT ContentDocumentId FROM ContentDocumentLink WHERE LinkedEntityId = '{platform}'")
    console.print(f"Opportunity 'Acme platform' now has {len(files)} files: the submitted and the signed contract")
    final = _show(hub, console)
    console.print("\nThe REST API serves the same: salesbridge serve, then /api/contracts (see /docs) and the "
                  "Contracts page.")
    return {**final, "opportunity_files": len(files), "webhook_calls": len(_Hook.received)}


def _round(hub: Hub, console: Console) -> ContractsRun:
    result = run_contracts(hub)
    console.print(f"round {result.status}: {len(result.pickup.picked_up)} picked up, {len(result.pickup.failed)} "
                  f"failed pickups, {len(result.sharing.linked)} document(s) shared "
                  f"({len(result.sharing.uploaded)} uploaded), {result.api_calls} API calls "
                  f"({result.pickup.downloads} file downloads)")
    return result


def _errors(hub: Hub, console: Console) -> list[tuple[str, str]]:
    with Session(hub.engine) as session:
        errors = [(e.error_code, e.message) for e in session.scalars(
            select(RecordError).where(RecordError.status == "open").order_by(RecordError.id))]
    table = Table(title="record errors (retried every round)")
    table.add_column("code")
    table.add_column("message")
    for code, message in errors:
        table.add_row(code, message)
    console.print(table)
    return errors


def _show(hub: Hub, console: Console) -> dict[str, Any]:
    salesforce = {r["Id"]: r for r in hub.client.query_all(
        "SELECT Id, Name, Status__c, Reviewer_Comment__c FROM Contract_Request__c ORDER BY Name")}
    table = Table(title="contract requests: Salesforce <-> hub")
    for column in ("request", "Salesforce status", "hub status", "reviewer comment", "company profile", "documents"):
        table.add_column(column)
    hub_rows = {r["sf_id"]: r for r in registry.list_requests(hub.engine, limit=1000)}
    for sf_id, record in salesforce.items():
        row = hub_rows.get(sf_id)
        docs = ", ".join(d["file_name"] for d in registry.documents(hub.engine, row["id"])) if row else ""
        table.add_row(record["Name"], record["Status__c"], row["status"] if row else "-",
                      record.get("Reviewer_Comment__c") or "-",
                      str(row["company_profile_id"]) if row and row["company_profile_id"] else "-", docs or "-")
    console.print(table)
    errors = _errors(hub, console)
    return {"salesforce": {r["Name"]: r["Status__c"] for r in salesforce.values()},
            "companies": [c["name"] for c in registry.companies(hub.engine)], "errors": [code for code, _ in errors]}
