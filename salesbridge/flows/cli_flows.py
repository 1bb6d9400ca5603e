"""``salesbridge mail sync``, ``salesbridge contacts sync`` and ``salesbridge convert-lead``: thin commands
over the mail, contacts and lead conversion flows. Heavy imports happen inside the commands (``--help`` stays
fast)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from salesbridge.cli_common import ConfigOption, console, err_console, load_hub_config

if TYPE_CHECKING:
    from salesbridge.flows._runtime import FlowReport

mail_app = typer.Typer(
    help="Messages shared from an IMAP mailbox, saved as Salesforce Tasks.", no_args_is_help=True
)
contacts_app = typer.Typer(
    help="A CardDAV address book kept in step with Salesforce Contacts and Leads.", no_args_is_help=True
)


def _print(report: FlowReport) -> None:
    table = Table(title=f"{report.flow} run {report.run_id}: {report.status}")
    table.add_column("what")
    table.add_column("count", justify="right")
    for name, count in report.counts.items():
        table.add_row(name.replace("_", " "), str(count))
    table.add_row("API calls", str(report.api_calls))
    console.print(table)
    for problem in report.problems:
        err_console.print(f"[yellow]problem[/yellow] {problem}")
    if report.error:
        err_console.print(f"[red]{report.flow} failed[/red]: {report.error}")


@mail_app.command("sync")
def mail_sync(config: ConfigOption = None) -> None:
    """Save messages moved to the Salesforce folder or tagged with the keyword as completed Tasks (once
    each)."""
    from salesbridge.flows.mail import MailSyncError, sync_mail

    hub_config = load_hub_config(config)
    try:
        report = sync_mail(hub_config)
    except MailSyncError as error:
        err_console.print(f"[red]configuration error[/red] {error}")
        raise typer.Exit(2) from None
    _print(report)
    if report.status == "failed":
        raise typer.Exit(1)


@contacts_app.command("sync")
def contacts_sync(config: ConfigOption = None) -> None:
    """Share address book cards as Contacts/Leads, carry edits both ways, fill the Salesforce address book."""
    from salesbridge.flows.contacts import ContactsSyncError, sync_contacts

    hub_config = load_hub_config(config)
    try:
        report = sync_contacts(hub_config)
    except ContactsSyncError as error:
        err_console.print(f"[red]configuration error[/red] {error}")
        raise typer.Exit(2) from None
    _print(report)
    if report.status == "failed":
        raise typer.Exit(1)


def convert_lead_command(
    lead_id: Annotated[str, typer.Argument(help="the Lead's Id (15 or 18 characters)")],
    status: Annotated[
        str, typer.Option("--status", help="a converted Lead Status, e.g. 'Closed - Converted'")
    ],
    account_id: Annotated[
        str | None,
        typer.Option(help="merge into this existing Account (default: a new one from the Lead's Company)"),
    ] = None,
    opportunity: Annotated[
        bool, typer.Option("--opportunity/--no-opportunity", help="create an Opportunity too")
    ] = True,
    opportunity_name: Annotated[
        str | None, typer.Option(help="name of the new Opportunity (default: the Company)")
    ] = None,
    notify: Annotated[bool, typer.Option("--notify", help="e-mail the new owner")] = False,
    config: ConfigOption = None,
) -> None:
    """Convert a Lead into a Contact at an Account (and an Opportunity unless --no-opportunity)."""
    from salesbridge.flows._runtime import Runtime
    from salesbridge.flows.convert import LeadConversionError, convert_lead

    runtime = Runtime.for_config(load_hub_config(config))
    try:
        result = convert_lead(
            runtime.client,
            lead_id,
            converted_status=status,
            account_id=account_id,
            create_opportunity=opportunity,
            opportunity_name=opportunity_name,
            notify_owner=notify,
            engine=runtime.engine,
        )
    except LeadConversionError as error:
        err_console.print(f"[red]not converted[/red] {error}")
        raise typer.Exit(1) from None
    table = Table(title=f"lead {result.lead_id} converted")
    table.add_column("record")
    table.add_column("Id")
    table.add_row("Account", result.account_id)
    table.add_row("Contact", result.contact_id)
    table.add_row("Opportunity", result.opportunity_id or "(none)")
    console.print(table)
    if result.relinked_cards:
        console.print(f"{result.relinked_cards} address book card(s) now follow the Contact")
