"""``salesbridge demo --flow renewals``: the subscription renewal story, offline against the sandbox org.

Two subscriptions are sent (one names an Account Salesforce lacks and fails alone), both are renewed (a second
renewal is refused), one run of the chain's head sends the draft renewal subscriptions, the change orders and
the sales orders as Opportunities; billing edits a sales order and the Opportunity follows; a status without
a stage is an UNMAPPED_VALUE error; the missing customer is fixed and everything goes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from salesbridge.flows._demo import flow_demo_hub
from salesbridge.flows.renewals import registry
from salesbridge.flows.renewals.recipe import SUBSCRIPTIONS, sandbox_schema_file, with_renewals
from salesbridge.flows.renewals.registry import NewChangeOrder, NewSubscription, RenewalError, SalesOrderChange
from salesbridge.sandbox.ids import make_id
from salesbridge.store.models import RecordError
from salesbridge.sync.runs import Hub, RunReport

#: A well-formed Account Id (with its checksum) that no record has: its sequence is far beyond any demo's.
MISSING_ACCOUNT = make_id("001", 987654)


@dataclass
class RenewalsDemo:
    """What the story ended with, for tests: the rows of the three tables and the Salesforce records."""

    subscriptions: list[dict[str, Any]]
    change_orders: list[dict[str, Any]]
    sales_orders: list[dict[str, Any]]
    opportunities: list[dict[str, Any]]
    refused: list[str] = field(default_factory=list)
    errors_seen: list[str] = field(default_factory=list)


def run_renewals_demo(workdir: Path, console: Console) -> RenewalsDemo:
    """Play the story in ``workdir`` (its previous files are replaced)."""
    with flow_demo_hub(workdir, console, title="renewals: subscription renewals", schema_file=sandbox_schema_file(),
                       add_recipe=lambda config: with_renewals(config, owner="sales.manager@sandbox.example"),
                       note="chain: subscriptions -> change_orders -> sales_orders") as hub:
        return _story(hub, console)


def _subscription(hub: Hub, name: str, account_id: str, quantity: int, price: int) -> dict[str, Any]:
    return registry.create_subscription(hub.engine, NewSubscription(
        name=name, account_id=account_id, plan="Analytics Pro", quantity=quantity, unit_price=price,
        start_date=date(2026, 1, 1)))


def _story(hub: Hub, console: Console) -> RenewalsDemo:
    client = hub.client
    (globex,) = client.create("Account", [{"Name": "Globex"}])
    console.print(f"Salesforce: Account Globex {globex.id}. Billing also knows Initech under {MISSING_ACCOUNT}, "
                  "an Account Id Salesforce does not have.")
    errors_seen: list[str] = []
    refused: list[str] = []

    console.rule("1. billing has two subscriptions; the chain's head sends them")
    globex_sub = _subscription(hub, "Globex Analytics", globex.id, 10, 1200)
    initech_sub = _subscription(hub, "Initech Analytics", MISSING_ACCOUNT, 5, 1200)
    _sync(hub, console, hub.sync([SUBSCRIPTIONS]), errors_seen)

    console.rule("2. both are renewed; a second renewal of Globex is refused")
    renewal = registry.create_change_order(hub.engine, NewChangeOrder(globex_sub["id"], "Renewal", quantity=12))
    registry.create_change_order(hub.engine, NewChangeOrder(initech_sub["id"], "Renewal"))
    try:
        registry.create_change_order(hub.engine, NewChangeOrder(globex_sub["id"], "Renewal"))
    except RenewalError as error:
        refused.append(f"{error.code}: {error}")
        console.print(f"[yellow]refused[/yellow] {error.code}: {error}")
    console.print(f"change order {renewal['id']} made draft subscription {renewal['renewal_subscription_id']} "
                  f"and sales order {renewal['sales_order_id']} in one transaction")

    console.rule("3. one run of the head: the chain sends subscriptions, change orders, Opportunities")
    _sync(hub, console, hub.sync([SUBSCRIPTIONS]), errors_seen)

    console.rule("4. billing quotes the renewal at a higher amount: the Opportunity follows")
    order_id = renewal["sales_order_id"]
    registry.update_sales_order(hub.engine, order_id, SalesOrderChange(amount=15000, status="Quoted",
                                                                       close_date=date(2026, 12, 15)))
    _sync(hub, console, hub.sync(["sales_orders"]), errors_seen)

    console.rule("5. a sales order On Hold has no Opportunity stage: UNMAPPED_VALUE, the stage stays")
    registry.update_sales_order(hub.engine, order_id, SalesOrderChange(status="On Hold"))
    _sync(hub, console, hub.sync(["sales_orders"]), errors_seen)

    console.rule("6. Initech's Account is created and the subscription moved to it; the order is booked")
    (initech,) = client.create("Account", [{"Name": "Initech"}])
    registry.move_account(hub.engine, initech_sub["id"], initech.id)
    registry.update_sales_order(hub.engine, order_id, SalesOrderChange(status="Booked"))
    _sync(hub, console, hub.sync(), errors_seen)

    opportunities = client.query_all("SELECT Id, Name, Account.Name, StageName, Amount, CloseDate, Type, "
                                      "Sales_Order_Id__c FROM Opportunity ORDER BY Sales_Order_Id__c")
    _show_opportunities(opportunities, console)
    console.print("\nThe REST API serves the same: salesbridge serve, then /api/renewals (see /docs).")
    return RenewalsDemo(registry.list_subscriptions(hub.engine), registry.list_change_orders(hub.engine),
                        registry.list_sales_orders(hub.engine), opportunities, refused, errors_seen)


def _sync(hub: Hub, console: Console, report: RunReport, errors_seen: list[str]) -> None:
    from salesbridge.cli import print_report

    print_report(report)
    with Session(hub.engine) as session:
        for error in session.scalars(select(RecordError).where(RecordError.status != "resolved")
                                     .order_by(RecordError.id)):
            line = f"{error.flow} {error.app_key}: {error.error_code}: {error.message}"
            errors_seen.append(line)
            console.print(f"[yellow]open error[/yellow] {line}")
    _show_rows(hub, console)


def _show_rows(hub: Hub, console: Console) -> None:
    table = Table(title="renewals: billing -> Salesforce")
    for column in ("row", "what", "status", "amount / term", "Salesforce Id"):
        table.add_column(column)
    for row in sorted(registry.list_subscriptions(hub.engine), key=lambda r: r["id"]):
        table.add_row(f"subscription {row['id']}", row["name"], row["status"],
                      f"{row['start_date']} - {row['end_date']}", row["sf_id"] or "-")
    for row in sorted(registry.list_change_orders(hub.engine), key=lambda r: r["id"]):
        table.add_row(f"change order {row['id']}", f"{row['order_type']} of {row['subscription_id']}",
                      row["status"], f"effective {row['effective_date']}", row["sf_id"] or "-")
    for row in sorted(registry.list_sales_orders(hub.engine), key=lambda r: r["id"]):
        table.add_row(f"sales order {row['id']}", row["name"], row["status"], str(row["amount"]),
                      row["sf_id"] or "-")
    console.print(table)


def _show_opportunities(opportunities: list[dict[str, Any]], console: Console) -> None:
    table = Table(title="Opportunities in Salesforce")
    for column in ("sales order", "name", "account", "stage", "amount", "close date", "type"):
        table.add_column(column)
    for record in opportunities:
        table.add_row(str(record["Sales_Order_Id__c"]), record["Name"], (record.get("Account") or {}).get("Name", "-"),
                      record["StageName"], str(record["Amount"]), str(record["CloseDate"]), str(record["Type"]))
    console.print(table)
