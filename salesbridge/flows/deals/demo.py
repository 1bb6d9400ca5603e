"""``salesbridge demo --flow deals``: the partner deal story, offline against the sandbox org.

Three deals are registered (a duplicate is refused), approved and sent: the one whose end user is a known
Contact becomes an Opportunity at that Contact's Account, the others Leads. A Lead converted in Salesforce is
followed to its Opportunity, a stage won there comes back, and an Opportunity is imported as a deal.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from salesbridge.flows._demo import flow_demo_hub
from salesbridge.flows.deals import registry
from salesbridge.flows.deals.importer import import_opportunities
from salesbridge.flows.deals.recipe import sandbox_schema_file, with_deals
from salesbridge.flows.deals.registry import DealError, NewDeal
from salesbridge.sync.runs import Hub

PARTNER = "Acme Resellers"


def _deal(partner_deal_id: str, first: str, last: str, email: str, company: str, amount: int) -> NewDeal:
    return NewDeal(partner=PARTNER, partner_deal_id=partner_deal_id, company=company, end_user_first_name=first,
                   end_user_last_name=last, end_user_email=email, title=f"{company} licences", amount=amount,
                   close_date=date(2026, 12, 15))


def run_deals_demo(workdir: Path, console: Console) -> list[dict[str, Any]]:
    """Play the story in ``workdir`` (its previous files are replaced); answers the deals at the end."""
    with flow_demo_hub(workdir, console, title="deals: partner deal registration", schema_file=sandbox_schema_file(),
                       add_recipe=lambda config: with_deals(config, "approved", owner="sales.manager@sandbox.example"),
                       note="deals are sent once Approved") as hub:
        return _story(hub, console)


def _story(hub: Hub, console: Console) -> list[dict[str, Any]]:
    client = hub.client
    (account,) = client.create("Account", [{"Name": "Analytical Engines"}])
    client.create("Contact", [{"FirstName": "Ada", "LastName": "Lovelace", "Email": "ada@engines.example",
                               "AccountId": account.id},
                              {"LastName": "Twin A", "Email": "twin@dup.example"},
                              {"LastName": "Twin B", "Email": "twin@dup.example"}])
    console.print("Salesforce: Contact ada@engines.example at Analytical Engines; two Contacts share "
                  "twin@dup.example.")

    console.rule("1. the partner registers three deals; a fourth repeats the first")
    deals = [registry.register(hub.engine, _deal("AR-1", "Ada", "Lovelace", "ada@engines.example",
                                                 "Analytical Engines", 12000)),
             registry.register(hub.engine, _deal("AR-2", "Tom", "Twin", "twin@dup.example", "Dup Ltd", 8000)),
             registry.register(hub.engine, _deal("AR-3", "Nora", "Nobody", "nora@cold.example", "Cold Inc", 5000))]
    try:
        registry.register(hub.engine, _deal("AR-9", "Ada", "Lovelace", "ADA@engines.example",
                                            "Analytical Engines", 1))
    except DealError as error:
        console.print(f"[yellow]refused[/yellow] {error.code}: {error}")
    report = hub.sync()
    console.print(f"sync: {report.written} written (Submitted deals wait for approval)")

    console.rule("2. approved: one Opportunity (exactly one matching Contact), two Leads")
    for deal in deals:
        registry.set_status(hub.engine, deal["id"], "Approved")
    _sync(hub, console)

    console.rule("3. in Salesforce: the Opportunity is won, Cold Inc's Lead is converted")
    won = registry.get(hub.engine, deals[0]["id"])["sf_id"]
    client.update("Opportunity", [{"Id": won, "StageName": "Closed Won"}])
    converted = client.convert_lead(registry.get(hub.engine, deals[2]["id"])["sf_id"], "Closed - Converted",
                                    opportunity_name="Cold Inc licences")
    console.print(f"Lead converted to Opportunity {converted['opportunityId']}")
    _sync(hub, console)

    console.rule("4. an Opportunity made in Salesforce is imported as a deal")
    (globex,) = client.create("Account", [{"Name": "Globex"}])
    client.create("Opportunity", [{"Name": "Globex renewal", "StageName": "Qualification",
                                   "CloseDate": "2026-11-30", "Amount": 7000, "AccountId": globex.id}])
    result = import_opportunities(hub.engine, client, PARTNER, f"AccountId = '{globex.id}'")
    console.print(f"imported {len(result.imported)} Opportunity as deal(s) {sorted(result.imported.values())}")
    final = registry.list_deals(hub.engine)
    _show(final, console)
    console.print("\nThe REST API serves the same: salesbridge serve, then /api/deals (see /docs).")
    return final


def _sync(hub: Hub, console: Console) -> None:
    from salesbridge.cli import print_report

    print_report(hub.sync())
    registry.record_salesforce_objects(hub.engine)
    _show(registry.list_deals(hub.engine), console)


def _show(deals: list[dict[str, Any]], console: Console) -> None:
    table = Table(title="deals: hub <-> Salesforce")
    for column in ("id", "partner deal", "company", "end user", "status", "Salesforce object", "Salesforce Id"):
        table.add_column(column)
    for deal in sorted(deals, key=lambda d: d["id"]):
        table.add_row(str(deal["id"]), deal["partner_deal_id"], deal["company"], deal["end_user_email"] or "-",
                      deal["status"], deal["sf_object"] or "-", deal["sf_id"] or "-")
    console.print(table)
