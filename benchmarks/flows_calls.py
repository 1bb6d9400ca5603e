"""What the ready-made business flows cost in Salesforce API calls, at two batch sizes.

Each scenario plays one step of a flow's story for N records against a fresh sandbox org (in this process, HTTPS
on loopback, with every flow's schema file) and a fresh SQLite app database, and counts the hub's calls (the
org's own Sforce-Limit-Info count is checked against the client's). A flow that works per batch costs the same
for 10 records as for 100; a per-record cost shows as calls growing with N.

    .venv/bin/python benchmarks/flows_calls.py [--sizes 10,100]
"""

from __future__ import annotations

import argparse
import base64
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from salesbridge.demo import demo_schema_file
from salesbridge.flows.contracts.recipe import sandbox_schema_file as contracts_schema
from salesbridge.flows.contracts.recipe import with_contracts
from salesbridge.flows.contracts.runner import run_contracts
from salesbridge.flows.deals import registry as deals
from salesbridge.flows.deals.recipe import sandbox_schema_file as deals_schema
from salesbridge.flows.deals.recipe import with_deals
from salesbridge.flows.pipeline import registry as pipeline
from salesbridge.flows.pipeline.recipe import sandbox_schema_file as pipeline_schema
from salesbridge.flows.pipeline.recipe import with_pipeline
from salesbridge.flows.renewals import registry as renewals
from salesbridge.flows.renewals.recipe import sandbox_schema_file as renewals_schema
from salesbridge.flows.renewals.recipe import with_renewals
from salesbridge.sandbox.server import RunningSandbox, start_in_thread
from salesbridge.sync.config import parse_config
from salesbridge.sync.runs import Hub, RunReport

SCHEMAS = (demo_schema_file(), deals_schema(), contracts_schema(), renewals_schema(), pipeline_schema())


@dataclass
class Row:
    flow: str
    step: str
    size: int
    calls: int
    org_calls: int
    seconds: float
    note: str


def connections(org: RunningSandbox, workdir: Path) -> dict[str, Any]:
    return {"connections": {
        "salesforce": {"login_url": org.url, "client_id": "salesbridge", "client_secret": "salesbridge-secret",
                       "username": "admin@sandbox.example", "password": "sandbox-pass", "verify": str(org.ca_path)},
        "app": {"url": f"sqlite:///{workdir / 'app.db'}"}}}


def calls_of(result: Any) -> int:
    """The calls a step's answer counted: a contracts round's total, or a run's with its chained runs."""
    if isinstance(result, RunReport):
        return result.api_calls + sum(calls_of(chained) for chained in result.chained)
    return int(result.api_calls)


def measure(flow: str, step: str, size: int, org: RunningSandbox, work: Callable[[], Any], note: str = "") -> Row:
    """Run ``work``; count the calls it reports and the calls the org counted over the same span."""
    before = org.org.api_usage.used
    started = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - started
    if getattr(result, "status", "succeeded") != "succeeded":
        raise RuntimeError(f"{flow}, {step}: {result.status} {getattr(result, 'errors', '')}")
    return Row(flow, step, size, calls_of(result), org.org.api_usage.used - before, seconds, note)


def deals_rows(org: RunningSandbox, workdir: Path, size: int) -> list[Row]:
    hub = Hub(parse_config(with_deals(connections(org, workdir), "approved"), "bench.yaml"))
    for index in range(size):
        deal = deals.register(hub.engine, deals.NewDeal(
            partner="Bench", partner_deal_id=f"B-{index}", company=f"Company {index}", end_user_last_name="User",
            end_user_email=f"user{index}@bench.example", title=f"Deal {index}", amount=1000,
            close_date=date(2026, 12, 15)))
        deals.set_status(hub.engine, deal["id"], "Approved")
    rows = [measure("deals", "approved deals sent (route query + upsert)", size, org, hub.sync)]
    rows.append(measure("deals", "quiet poll", size, org, hub.sync))
    hub.engine.dispose()
    return rows


def contracts_rows(org: RunningSandbox, workdir: Path, size: int) -> list[Row]:
    hub = Hub(parse_config(with_contracts(connections(org, workdir)), "bench.yaml"))
    client = hub.client
    (account,) = client.create("Account", [{"Name": "Bench Account"}])
    requests = client.create("Contract_Request__c", [{"Account__c": account.id, "Status__c": "Draft"}
                                                     for _ in range(size)])
    client.create("ContentVersion", [{"Title": f"c{index}", "PathOnClient": f"c{index}.pdf",
                                      "VersionData": base64.b64encode(b"%PDF-1.4 " * 50).decode(),
                                      "FirstPublishLocationId": request.id} for index, request in enumerate(requests)])
    client.update("Contract_Request__c", [{"Id": request.id, "Status__c": "Submitted"} for request in requests])
    rows = [measure("contracts", "round: pick up (1 download per file)", size, org, lambda: run_contracts(hub),
                    "6 + N: Salesforce serves file bodies one at a time")]
    rows.append(measure("contracts", "round with nothing to do", size, org, lambda: run_contracts(hub)))
    hub.engine.dispose()
    return rows


def renewals_rows(org: RunningSandbox, workdir: Path, size: int) -> list[Row]:
    hub = Hub(parse_config(with_renewals(connections(org, workdir)), "bench.yaml"))
    (account,) = hub.client.create("Account", [{"Name": "Bench Customer"}])
    for index in range(size):
        subscription = renewals.create_subscription(hub.engine, renewals.NewSubscription(
            name=f"Sub {index}", account_id=str(account.id), plan="Pro", quantity=5, unit_price=100,
            start_date=date(2026, 1, 1)))
        renewals.create_change_order(hub.engine, renewals.NewChangeOrder(subscription_id=subscription["id"],
                                                                         order_type="Renewal",
                                                                         transaction_type="Sales Order"))
    rows = [measure("renewals", "chain: subscriptions -> change orders -> Opportunities", size, org,
                    lambda: hub.sync(["subscriptions"]), "one run per flow of the chain")]
    hub.engine.dispose()
    return rows


def pipeline_rows(org: RunningSandbox, workdir: Path, size: int) -> list[Row]:
    hub = Hub(parse_config(with_pipeline(connections(org, workdir)), "bench.yaml"))
    for index in range(size):
        pipeline.create(hub.engine, "leads", {"last_name": f"Lead {index}", "company": f"Company {index}"})
    rows = [measure("pipeline", "new leads sent (owner lookup + upsert)", size, org, hub.sync)]
    for lead in pipeline.list_records(hub.engine, "leads", limit=size):
        pipeline.change(hub.engine, "leads", lead["id"], {"stage": "Won"})
    rows.append(measure("pipeline", "leads won: converted (convertLead per 100)", size, org, hub.sync))
    hub.engine.dispose()
    return rows


def run(sizes: list[int]) -> list[Row]:
    rows: list[Row] = []
    for size in sizes:
        for scenario in (deals_rows, contracts_rows, renewals_rows, pipeline_rows):
            with tempfile.TemporaryDirectory() as workdir:
                org = start_in_thread(schema_files=SCHEMAS)
                try:
                    rows.extend(scenario(org, Path(workdir), size))
                finally:
                    org.stop()
    return sorted(rows, key=lambda row: (row.flow, row.step, row.size))


def render(rows: list[Row]) -> Table:
    table = Table(title="Business flows: Salesforce API calls per step")
    for column in ("flow", "step", "N", "API calls", "org count", "wall s", "note"):
        table.add_column(column, justify="right" if column in ("N", "API calls", "org count", "wall s") else "left")
    for row in rows:
        org = str(row.org_calls) if row.org_calls == row.calls else f"[red]{row.org_calls}[/red]"
        table.add_row(row.flow, row.step, f"{row.size:,}", str(row.calls), org, f"{row.seconds:.2f}", row.note)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,100", help="comma-separated batch sizes (default 10,100)")
    args = parser.parse_args()
    sizes = [int(part) for part in args.sizes.split(",") if part.strip()]
    console = Console(width=max(Console().width, 150))
    started = time.perf_counter()
    console.print(render(run(sizes)))
    console.print(f"total {time.perf_counter() - started:.0f} s; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
