"""``salesbridge demo --flow pipeline``: the lead pipeline story, offline against the sandbox org.

The tool and Salesforce each get a company, a contact and leads; a sync puts each on the other side, owned by
the sales manager. Stages move on both sides; a lead won in the tool is converted in Salesforce and a Lead
converted there is won in the tool; a lead is lost, records are deleted on each side, leads are transferred to
another owner both ways; a lead with an unknown owner fails alone. The events of all this are printed last.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from salesbridge.flows._demo import flow_demo_hub
from salesbridge.flows.pipeline import registry
from salesbridge.flows.pipeline.cli import print_events
from salesbridge.flows.pipeline.recipe import DEFAULT_OWNER, FLOWS, sandbox_schema_file, with_pipeline
from salesbridge.sync.runs import Hub

ADMIN = "admin@sandbox.example"


def run_pipeline_demo(workdir: Path, console: Console) -> dict[str, Any]:
    """Play the story in ``workdir`` (its previous files are replaced); answers the final leads, events and
    open errors."""
    with flow_demo_hub(workdir, console, title="pipeline: the lead pipeline, two-way",
                       schema_file=sandbox_schema_file(), add_recipe=with_pipeline,
                       note=f"new records owned by {DEFAULT_OWNER}; scheduled every 15 minutes under "
                            "salesbridge run") as hub:
        return _story(hub, console)


def _story(hub: Hub, console: Console) -> dict[str, Any]:
    client, engine = hub.client, hub.engine
    console.rule("1. records on both sides")
    acme = registry.create(engine, "companies", {"name": "Acme", "website": "https://acme.example"})
    registry.create(engine, "contacts", {"first_name": "Jane", "last_name": "Doe", "email": "jane@acme.example",
                                         "company_id": acme["id"]})
    lee = registry.create(engine, "leads", {"first_name": "Lee", "last_name": "Park", "company": "Park Labs"})
    wen = registry.create(engine, "leads", {"first_name": "Wen", "last_name": "Li", "company": "Li Logistics",
                                            "stage": "Proposal"})
    lou = registry.create(engine, "leads", {"first_name": "Lou", "last_name": "Reed", "company": "Reed Audio",
                                            "stage": "Contacted"})
    dee = registry.create(engine, "leads", {"first_name": "Dee", "last_name": "Snider", "company": "Twisted Ltd"})
    (globex,) = client.create("Account", [{"Name": "Globex"}])
    (hank,) = client.create("Contact", [{"FirstName": "Hank", "LastName": "Scorpio", "Email": "hank@globex.example",
                                         "AccountId": globex.id}])
    sam, cora = (r.id for r in client.create("Lead", [
        {"FirstName": "Sam", "LastName": "Stone", "Company": "Stone Quarry", "Status": "Working - Contacted"},
        {"FirstName": "Cora", "LastName": "Vance", "Company": "Vance Foods", "Status": "Qualified"}]))
    console.print("The tool: Acme with Jane Doe; leads Lee, Wen, Lou, Dee. Salesforce: Globex with Hank "
                  "Scorpio; Leads Sam and Cora.")
    _sync(hub, console)

    console.rule("2. stages move: Lee is Qualified in the tool, Sam's Lead is Proposal Sent in Salesforce")
    registry.change(engine, "leads", lee["id"], {"stage": "Qualified"})
    client.update("Lead", [{"Id": sam, "Status": "Proposal Sent"}])
    _sync(hub, console)

    console.rule("3. won: Wen is Won in the tool; Cora's Lead is converted in Salesforce")
    registry.change(engine, "leads", wen["id"], {"stage": "Won"})
    converted = client.convert_lead(cora, "Closed - Converted")
    console.print(f"Salesforce converted Cora into Contact {converted['contactId']}")
    _sync(hub, console)
    hub.sync(list(FLOWS))  # the Accounts and Contacts of the conversions come into the tool
    _show_companies(hub, console)

    console.rule("4. lost, deleted, transferred: Lou is Lost; Dee deleted in the tool, Hank in Salesforce; Lee "
                 "goes to the admin, Sam to the sales manager")
    registry.change(engine, "leads", lou["id"], {"stage": "Lost"})
    registry.remove(engine, "leads", dee["id"])
    client.delete([hank.id])
    registry.change(engine, "leads", lee["id"], {"owner_email": ADMIN})
    client.update("Lead", [{"Id": sam, "OwnerId": client.find_user(DEFAULT_OWNER)["Id"]}])
    _sync(hub, console)

    console.rule("5. a lead owned by someone Salesforce does not know fails alone")
    registry.create(engine, "leads", {"last_name": "Stray", "company": "Nowhere", "owner_email": "nobody@x.example"})
    _sync(hub, console)
    errors = registry.open_errors(engine)
    for error in errors:
        console.print(f"[yellow]record error[/yellow] {error['flow']} {error['record_id']}: {error['error_code']}: "
                      f"{error['message']}")

    events = [e for e in registry.events(engine, limit=500) if e["kind"] != "updated"]
    print_events(list(reversed(events)), "pipeline events (oldest first, updates left out)", console)
    console.print("\nThe REST API serves the same: salesbridge serve, then /api/pipeline/leads and "
                  "/api/pipeline/events (see /docs); the admin page is /pipeline.")
    return {"leads": registry.list_records(engine, "leads", limit=1000), "events": events, "errors": errors}


def _sync(hub: Hub, console: Console) -> None:
    from salesbridge.cli import print_report

    print_report(hub.sync(list(FLOWS)))
    _show_leads(hub, console)


def _show_leads(hub: Hub, console: Console) -> None:
    table = Table(title="leads: the tool <-> Salesforce")
    for column in ("id", "name", "company", "stage", "owner", "Salesforce", "Lead Status / Contact"):
        table.add_column(column)
    rows = sorted(registry.list_records(hub.engine, "leads", limit=1000), key=lambda r: r["id"])
    leads = {r["Id"]: r["Status"] for r in _query_ids(hub, "Lead", "Status", [r["linked_id"] for r in rows
                                                                             if r["sf_object"] == "Lead"])}
    for row in rows:
        twin = leads.get(row["linked_id"], "converted: Contact" if row["sf_object"] == "Contact" else "-")
        table.add_row(str(row["id"]), f"{row['first_name'] or ''} {row['last_name']}".strip(), row["company"],
                      row["stage"], row["owner_email"] or "-", f"{row['sf_object'] or ''} {row['linked_id'] or '-'}",
                      twin)
    console.print(table)


def _show_companies(hub: Hub, console: Console) -> None:
    table = Table(title="companies and contacts in the tool")
    for column in ("company", "Account", "contacts"):
        table.add_column(column)
    contacts = registry.list_records(hub.engine, "contacts", limit=1000)
    for company in sorted(registry.list_records(hub.engine, "companies", limit=1000), key=lambda r: r["id"]):
        people = [f"{c['first_name'] or ''} {c['last_name']}".strip() for c in contacts
                  if c["company_id"] == company["id"]]
        table.add_row(company["name"], company["linked_id"] or "-", ", ".join(people) or "-")
    console.print(table)


def _query_ids(hub: Hub, object_name: str, field: str, ids: list[str]) -> list[dict[str, Any]]:
    if not ids:
        return []
    quoted = ", ".join(f"'{sf_id}'" for sf_id in ids)
    return hub.client.query_all(f"SELECT Id, {field} FROM {object_name} WHERE Id IN ({quoted})")
