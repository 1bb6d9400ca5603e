"""``salesbridge renewals``: print the recipe, list the rows, renew a subscription, run the chain now. Heavy
imports happen inside the commands (``--help`` stays fast)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from salesbridge.cli_common import ConfigOption, console, open_hub

renewals_app = typer.Typer(help="Subscriptions, change orders and sales orders sent to Salesforce by a chain of "
                           "flows.", no_args_is_help=True)


@renewals_app.command("recipe")
def recipe(every: Annotated[str, typer.Option(help="schedule of each flow: 15m, 1h, 1d...")] = "15m",
           owner: Annotated[str | None, typer.Option(help="Salesforce user owning the records")] = None) -> None:
    """Print the three flows, the value map and the event rule as YAML, to add to salesbridge.yaml."""
    import yaml

    from salesbridge.flows.renewals.recipe import renewals_recipe

    typer.echo(yaml.safe_dump(renewals_recipe(every=every, owner=owner), sort_keys=False, width=110), nl=False)


@renewals_app.command("list")
def list_command(config: ConfigOption = None) -> None:
    """Subscriptions, change orders and sales orders with their Salesforce Ids."""
    from salesbridge.flows.renewals import registry

    hub = open_hub(config)
    table = Table(title="renewals")
    for column in ("row", "what", "status", "Salesforce"):
        table.add_column(column)
    for row in registry.list_subscriptions(hub.engine, limit=1000):
        table.add_row(f"subscription {row['id']}", f"{row['name']} ({row['start_date']} - {row['end_date']})",
                      row["status"], row["sf_id"] or "-")
    for row in registry.list_change_orders(hub.engine, limit=1000):
        table.add_row(f"change order {row['id']}", f"{row['order_type']} of subscription {row['subscription_id']}",
                      row["status"], row["sf_id"] or "-")
    for row in registry.list_sales_orders(hub.engine, limit=1000):
        table.add_row(f"sales order {row['id']}", f"{row['name']}: {row['amount']}", row["status"],
                      row["sf_id"] or "-")
    console.print(table)


@renewals_app.command("renew")
def renew_command(subscription_id: int, config: ConfigOption = None,
                  quantity: Annotated[int | None, typer.Option(help="default: the current quantity")] = None) -> None:
    """Create a renewal change order: the draft renewal subscription and its sales order come with it."""
    from salesbridge.flows.renewals import registry
    from salesbridge.flows.renewals.registry import NewChangeOrder, RenewalError

    hub = open_hub(config)
    try:
        order = registry.create_change_order(hub.engine, NewChangeOrder(subscription_id, "Renewal",
                                                                        quantity=quantity))
    except RenewalError as error:
        console.print(f"[red]{error.code}[/red]: {error}")
        raise typer.Exit(1) from None
    console.print(f"change order {order['id']}: renewal subscription {order['renewal_subscription_id']}, "
                  f"sales order {order['sales_order_id']}")


@renewals_app.command("sync")
def sync_command(config: ConfigOption = None) -> None:
    """Run the three renewal flows now, in chain order (chained runs are printed under them)."""
    from salesbridge.cli import print_report
    from salesbridge.flows.renewals.recipe import FLOW_NAMES

    report = open_hub(config).sync(list(FLOW_NAMES))
    print_report(report)
    if report.status != "succeeded":
        raise typer.Exit(1)
