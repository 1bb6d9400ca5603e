"""``salesbridge contracts``: print the recipe, run a round, list the queue, approve, reject, send for
signature, report a signature. Heavy imports happen inside the commands (``--help`` stays fast)."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from salesbridge.cli_common import ConfigOption, console, open_hub

contracts_app = typer.Typer(help="Contract requests from Salesforce: approval queue, profiles, documents, "
                                 "signature.", no_args_is_help=True)


def _refused(error: Exception) -> typer.Exit:
    console.print(f"[red]{getattr(error, 'code', 'ERROR')}: {error}[/red]")
    return typer.Exit(1)


@contracts_app.command("recipe")
def recipe(webhook: Annotated[str | None, typer.Option(help="signature webhook URL")] = None) -> None:
    """Print the contract request flow, its value map and the contracts: section as YAML."""
    import yaml

    from salesbridge.flows.contracts.recipe import contracts_recipe

    typer.echo(yaml.safe_dump(contracts_recipe(signature_webhook=webhook), sort_keys=False, width=110), nl=False)


@contracts_app.command("run")
def run_command(config: ConfigOption = None) -> None:
    """One round: sync, pick up submitted requests (files downloaded), share documents, sync again."""
    from salesbridge.flows.contracts.runner import run_contracts

    result = run_contracts(open_hub(config))
    console.print(f"round {result.status}: runs {result.run_ids}, {len(result.pickup.picked_up)} picked up, "
                  f"{len(result.sharing.linked)} document(s) shared, {result.api_calls} API calls")
    for request_id, code in result.pickup.failed.items():
        console.print(f"[yellow]request {request_id}[/yellow]: {code} (salesbridge errors list)")
    for name, text in result.errors.items():
        console.print(f"[red]{name}[/red]: {text}")
    if result.status != "succeeded":
        raise typer.Exit(1)


@contracts_app.command("list")
def list_command(config: ConfigOption = None, status: str | None = None) -> None:
    """The contract requests, newest first (``--status "In Review"``: the approval queue)."""
    from salesbridge.flows.contracts import registry

    hub = open_hub(config)
    table = Table(title="contract requests")
    for column in ("id", "request", "company", "status", "reviewer", "documents", "signature hook"):
        table.add_column(column)
    for item in registry.list_requests(hub.engine, status=status, limit=1000):
        files = ", ".join(f"{d['file_name']} ({d['kind']})" for d in registry.documents(hub.engine, item["id"]))
        table.add_row(str(item["id"]), f"{item['name'] or ''} {item['sf_id'] or ''}".strip(),
                      item["company_name"] or "-", item["status"] or "-", item["reviewer"] or "-", files or "-",
                      item["webhook_state"] or "-")
    console.print(table)


@contracts_app.command("approve")
def approve_command(request_id: int, comment: Annotated[str | None, typer.Option()] = None,
                    reviewer: Annotated[str | None, typer.Option(help="default: your login name")] = None,
                    config: ConfigOption = None) -> None:
    """Approve a request In Review (profiles made, document attached); the next round sends it."""
    from salesbridge.flows.contracts.decisions import approve
    from salesbridge.flows.contracts.registry import ContractError

    try:
        done = approve(open_hub(config).engine, request_id, reviewer or getpass.getuser(), comment)
    except ContractError as error:
        raise _refused(error) from None
    made = "new company profile" if done["company_created"] else "existing company profile"
    console.print(f"request {request_id} Approved ({made} {done['company_profile_id']}); run to send it")


@contracts_app.command("reject")
def reject_command(request_id: int, comment: Annotated[str, typer.Option(help="why (required)")],
                   reviewer: Annotated[str | None, typer.Option(help="default: your login name")] = None,
                   config: ConfigOption = None) -> None:
    """Reject a request In Review with a comment; the next round sends it."""
    from salesbridge.flows.contracts.decisions import reject
    from salesbridge.flows.contracts.registry import ContractError

    try:
        reject(open_hub(config).engine, request_id, reviewer or getpass.getuser(), comment)
    except ContractError as error:
        raise _refused(error) from None
    console.print(f"request {request_id} Rejected; run to send it")


@contracts_app.command("send-for-signature")
def signature_command(request_id: int, config: ConfigOption = None) -> None:
    """Move an Approved request Out for Signature and POST the webhook (again, when it failed)."""
    from salesbridge.flows.contracts.registry import ContractError
    from salesbridge.flows.contracts.runner import contracts_settings
    from salesbridge.flows.contracts.signature import send_for_signature

    hub = open_hub(config)
    try:
        done = send_for_signature(hub.engine, request_id, contracts_settings(hub.config))
    except ContractError as error:
        raise _refused(error) from None
    console.print(f"request {request_id} {done['status']}; webhook {done['webhook_state']}"
                  f"{': ' + done['webhook_error'] if done['webhook_error'] else ''}")
    if done["webhook_state"] == "failed":
        raise typer.Exit(1)


@contracts_app.command("signed")
def signed_command(request_id: int, file: Annotated[Path | None, typer.Option(help="the signed file")] = None,
                   config: ConfigOption = None) -> None:
    """Report the signature: the request is Signed; the signed file goes to Salesforce at the next round."""
    from salesbridge.flows.contracts.registry import ContractError
    from salesbridge.flows.contracts.runner import contracts_settings
    from salesbridge.flows.contracts.signature import mark_signed

    hub = open_hub(config)
    try:
        mark_signed(hub.engine, request_id, contracts_settings(hub.config), file.name if file else None,
                    file.read_bytes() if file else None)
    except ContractError as error:
        raise _refused(error) from None
    console.print(f"request {request_id} Signed; run to send it")
