"""``salesbridge pipeline``: print the recipe, list the tool's records, show lifecycle events, sync now. Heavy
imports happen inside the commands (``--help`` stays fast)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from salesbridge.cli_common import ConfigOption, console, open_hub

pipeline_app = typer.Typer(help="The lead pipeline: companies, contacts and leads two-way with Salesforce.",
                           no_args_is_help=True)
KINDS = ("companies", "contacts", "leads")


@pipeline_app.command("recipe")
def recipe(owner: Annotated[str, typer.Option(help="Salesforce user (username or email) owning new records")]
           = "sales.manager@sandbox.example",
           every: Annotated[str, typer.Option(help="schedule: 15m, 1h...")] = "15m",
           timezone: Annotated[str, typer.Option(help="IANA time zone of the schedule")] = "UTC") -> None:
    """Print the pipeline flows and stage map as YAML, to add to salesbridge.yaml."""
    import yaml

    from salesbridge.flows.pipeline.recipe import pipeline_recipe

    typer.echo(yaml.safe_dump(pipeline_recipe(owner, every=every, timezone=timezone), sort_keys=False, width=110),
               nl=False)


@pipeline_app.command("list")
def list_command(kind: Annotated[str, typer.Argument(help="companies | contacts | leads")] = "leads",
                 config: ConfigOption = None, stage: str | None = None) -> None:
    """The tool's records of one kind with their Salesforce twin, newest first."""
    from salesbridge.flows.pipeline import registry

    if kind not in KINDS:
        console.print(f"[red]kind: one of {', '.join(KINDS)}[/red]")
        raise typer.Exit(2)
    columns = {"companies": ("name", "website"), "contacts": ("first_name", "last_name", "email", "company_id"),
               "leads": ("first_name", "last_name", "company", "stage", "owner_email")}[kind]
    table = Table(title=kind)
    for column in ("id", *columns, "Salesforce"):
        table.add_column(column)
    for row in registry.list_records(open_hub(config).engine, kind, stage=stage, limit=1000):  # type: ignore[arg-type]
        table.add_row(str(row["id"]), *(str(row[c]) if row[c] is not None else "-" for c in columns),
                      f"{row['sf_object']} {row['linked_id']}" if row["linked_id"] else "-")
    console.print(table)


@pipeline_app.command("events")
def events_command(config: ConfigOption = None, limit: int = 50) -> None:
    """Lifecycle events (created, won, lost, deleted, owner_changed, converted), newest first."""
    from salesbridge.flows.pipeline import registry

    print_events(registry.events(open_hub(config).engine, limit=limit))


def print_events(events: list[dict], title: str = "pipeline events",  # type: ignore[type-arg]
                 out: Console | None = None) -> None:
    table = Table(title=title)
    for column in ("event", "record", "made in", "details"):
        table.add_column(column)
    for event in events:
        details = event["details"]
        if event["kind"] == "owner_changed":
            what = f"{details.get('from') or '-'} -> {details.get('to')}"
        elif event["kind"] in ("won", "lost"):
            what = f"stage {details.get('stage')}"
        elif event["kind"] == "converted":
            what = f"Contact {details.get('contact_id')}, Opportunity {details.get('opportunity_id') or '-'}"
        else:
            what = ""
        kind = "transferred" if event["kind"] == "owner_changed" else event["kind"]
        table.add_row(kind, f"{event['flow'].removeprefix('pipeline_')} {event['record_id'] or ''}".strip(),
                      "the tool" if event["origin"] == "app" else str(event["origin"]), what)
    (out or console).print(table)


@pipeline_app.command("sync")
def sync_command(config: ConfigOption = None) -> None:
    """Sync the three pipeline flows now (the schedule does it every 15 minutes under ``salesbridge run``)."""
    from salesbridge.cli import print_report
    from salesbridge.flows.pipeline.recipe import FLOWS

    report = open_hub(config).sync(list(FLOWS))
    print_report(report)
    if report.status != "succeeded":
        raise typer.Exit(1)
