"""``salesbridge deals``: list, sync now, import Opportunities, print the recipe. Heavy imports happen inside
the commands (``--help`` stays fast)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from salesbridge.cli_common import ConfigOption, console, open_hub

deals_app = typer.Typer(help="Partner deals registered in the hub, synced as Leads or Opportunities.",
                        no_args_is_help=True)


@deals_app.command("recipe")
def recipe(sync_on: Annotated[str, typer.Option(help="created | pre_approved | approved | manual")] = "approved",
           owner: Annotated[str | None, typer.Option(help="Salesforce user owning the records")] = None,
           every: Annotated[str, typer.Option(help="schedule under `salesbridge run` (15m, 1h...; 'none': no "
                                                   "schedule)")] = "15m") -> None:
    """Print the deal flow and its value maps as YAML, to add to salesbridge.yaml."""
    import yaml

    from salesbridge.flows.deals.recipe import SENT_FROM, deals_recipe

    if sync_on not in SENT_FROM:
        console.print(f"[red]--sync-on: one of {', '.join(SENT_FROM)}[/red]")
        raise typer.Exit(2)
    typer.echo(yaml.safe_dump(deals_recipe(sync_on, owner=owner,  # type: ignore[arg-type]
                                             every=None if every == "none" else every), sort_keys=False, width=110),
               nl=False)


@deals_app.command("list")
def list_command(config: ConfigOption = None, partner: str | None = None, status: str | None = None) -> None:
    """The registered deals, newest first."""
    from salesbridge.flows.deals import registry

    hub = open_hub(config)
    table = Table(title="deals")
    for column in ("id", "partner", "partner deal", "company", "status", "Salesforce"):
        table.add_column(column)
    for deal in registry.list_deals(hub.engine, partner=partner, status=status, limit=1000):
        table.add_row(str(deal["id"]), deal["partner"], deal["partner_deal_id"], deal["company"], deal["status"],
                      f"{deal['sf_object'] or ''} {deal['sf_id'] or '-'}".strip())
    console.print(table)


@deals_app.command("sync")
def sync_command(deal_id: int, config: ConfigOption = None) -> None:
    """Sync one deal now (the manual way of sending deals)."""
    from salesbridge.cli import print_report
    from salesbridge.flows.deals import registry
    from salesbridge.flows.deals.recipe import FLOW_NAME

    hub = open_hub(config)
    report = hub.sync_record(FLOW_NAME, app_key=str(registry.get(hub.engine, deal_id)["id"]))
    registry.record_salesforce_objects(hub.engine)
    print_report(report)
    if report.status != "succeeded":
        raise typer.Exit(1)


@deals_app.command("import")
def import_command(partner: Annotated[str, typer.Option(help="the partner the deals are registered for")],
                   where: Annotated[str, typer.Option(help="SOQL condition on Opportunity")],
                   config: ConfigOption = None) -> None:
    """Import the Opportunities matching --where as deals linked to them."""
    from salesbridge.flows.deals.importer import import_opportunities

    hub = open_hub(config)
    result = import_opportunities(hub.engine, hub.client, partner, where)
    for sf_id, deal_id in result.imported.items():
        console.print(f"imported {sf_id} as deal {deal_id}")
    for sf_id in result.already_linked:
        console.print(f"already a deal: {sf_id}")
    for sf_id, why in result.skipped.items():
        console.print(f"[yellow]skipped[/yellow] {sf_id}: {why}")
