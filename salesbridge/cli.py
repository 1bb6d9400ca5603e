"""The ``salesbridge`` command line: thin commands over the Hub, the sandbox server and the demo.

Heavy imports happen inside commands so that ``salesbridge --help`` stays instant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from salesbridge.cli_common import ConfigOption, console, err_console, load_hub_config, open_hub
from salesbridge.flows.cli_flows import contacts_app, convert_lead_command, mail_app
from salesbridge.flows.contracts.cli import contracts_app
from salesbridge.flows.deals.cli import deals_app
from salesbridge.flows.pipeline.cli import pipeline_app
from salesbridge.flows.renewals.cli import renewals_app
from salesbridge.web.cli_users import users_app

app = typer.Typer(help="salesbridge: keep Salesforce and your other systems in step.", no_args_is_help=True,
                  pretty_exceptions_show_locals=False)
@app.command()
def sandbox(
    port: Annotated[int, typer.Option(help="port to listen on")] = 8787,
    data: Annotated[str, typer.Option(help="SQLite file for the org's records, or :memory:")] = "sandbox.db",
    schema: Annotated[list[Path] | None, typer.Option(help="YAML file of custom objects/fields (repeatable)")]
    = None,
    host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
    tls: Annotated[bool, typer.Option(help="serve HTTPS with a self-signed certificate")] = True,
    config: Annotated[Path | None, typer.Option(help="YAML settings: users, connected apps, limits")] = None,
) -> None:
    """Run the Salesforce-compatible sandbox server in the foreground."""
    from salesbridge.sandbox.server import serve

    serve(port=port, data=data, schema_files=tuple(str(p) for p in schema or ()), host=host, tls=tls,
          config=str(config) if config else None)


@app.command()
def check(config: ConfigOption = None) -> None:
    """Validate the configuration and the connections: login, objects, fields, tables, columns."""
    from salesbridge.sync.check import check_hub

    hub_config = load_hub_config(config)
    problems = check_hub(hub_config, report=lambda line: console.print(f"[green]ok[/green] {line}"))
    for problem in problems:
        err_console.print(f"[red]problem[/red] {problem}")
    if problems:
        raise typer.Exit(1)
    console.print("[bold green]configuration and connections are fine[/bold green]")


@app.command()
def sync(
    flow: Annotated[list[str] | None, typer.Argument(help="flows to sync (default: all enabled)")] = None,
    config: ConfigOption = None,
    app_key: Annotated[str | None, typer.Option(help="sync only this app row now (needs one FLOW)")] = None,
    sf_id: Annotated[str | None, typer.Option(help="sync only this Salesforce record now (needs one FLOW)")]
    = None,
) -> None:
    """Run a sync once, with a progress bar, and print what it did."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    hub = open_hub(config)
    if app_key or sf_id:
        if not flow or len(flow) != 1:
            err_console.print("[red]--app-key/--sf-id need exactly one FLOW[/red]")
            raise typer.Exit(2)
        report = hub.sync_record(flow[0], app_key=app_key, sf_id=sf_id)
    else:
        with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed} records"),
                      TimeElapsedColumn(), console=console, transient=True) as bar:
            tasks: dict[str, int] = {}

            def progress_for(flow_name: str):  # noqa: ANN202
                def advance(stage: str, count: int) -> None:
                    label = f"{flow_name}: {stage}"
                    if label not in tasks:
                        tasks[label] = bar.add_task(label, total=None)
                    bar.advance(tasks[label], count)

                return advance

            report = hub.sync(flow or None, progress=progress_for)
    print_report(report)
    if report.status in ("failed", "stopped"):
        raise typer.Exit(1)


def print_report(report, chained_from: int | None = None) -> None:  # noqa: ANN001 - RunReport
    origin = f" (chained from run {chained_from})" if chained_from is not None else ""
    table = Table(title=f"run {report.run_id}: {report.status}{origin}")
    for column in ("flow", "read", "to app", "to Salesforce", "deletes", "conflicts", "failed", "API calls"):
        table.add_column(column, justify="left" if column == "flow" else "right")
    for result in report.results:
        table.add_row(result.flow, str(result.records_read), str(result.written_to_app),
                      str(result.written_to_salesforce), str(result.deletes), str(result.conflicts),
                      str(result.failed), str(result.api_calls))
    console.print(table)
    for flow_name, message in report.errors.items():
        err_console.print(f"[red]{flow_name}[/red]: {message}")
    for chained in report.chained:
        print_report(chained, chained_from=report.run_id)


@app.command()
def status(config: ConfigOption = None, limit: Annotated[int, typer.Option(help="runs to show")] = 10) -> None:
    """Show the last runs and the remaining API budget."""
    from sqlalchemy.orm import Session

    from salesbridge.store import repository as repo

    hub = open_hub(config)
    with Session(hub.engine) as session:
        runs = repo.recent_runs(session, limit)
        table = Table(title="recent runs")
        for column in ("run", "started", "status", "trigger", "after run", "flows", "read", "written", "failed",
                       "conflicts", "API calls"):
            table.add_column(column)
        for run in runs:
            stats = repo.run_flows(session, run.id)
            table.add_row(str(run.id), run.started_at.strftime("%Y-%m-%d %H:%M:%S"), run.status, run.trigger,
                          str(run.parent_run_id or ""),
                          ", ".join(run.flows or []), str(sum(s.records_read for s in stats)),
                          str(sum(s.records_written for s in stats)), str(sum(s.records_failed for s in stats)),
                          str(sum(s.conflicts for s in stats)), str(run.api_calls or 0))
        console.print(table)
        open_count = len(repo.open_errors(session))
    limits = hub.client.limits()
    daily = limits.get("DailyApiRequests", {})
    console.print(f"API budget: {daily.get('Remaining', '?')} of {daily.get('Max', '?')} calls left today; "
                  f"open record errors: {open_count}")


@app.command()
def errors(
    config: ConfigOption = None,
    flow: Annotated[str | None, typer.Option(help="only this flow")] = None,
    show_all: Annotated[bool, typer.Option("--all", help="resolved ones too")] = False,
) -> None:
    """List per-record errors with Salesforce's error code, message and fields."""
    from sqlalchemy.orm import Session

    from salesbridge.store import repository as repo

    hub = open_hub(config)
    with Session(hub.engine) as session:
        rows = repo.list_errors(session, flow=flow, include_resolved=show_all)
        table = Table(title="record errors")
        for column in ("id", "flow", "direction", "op", "app key", "Salesforce id", "code", "message", "fields",
                       "status", "attempts"):
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(str(row.id), row.flow, row.direction, row.operation, row.app_key or "", row.sf_id or "",
                          row.error_code, row.message, ", ".join(row.fields or []), row.status, str(row.attempts))
    console.print(table)


@app.command()
def retry(
    error_id: Annotated[list[int] | None, typer.Argument(help="error ids (default: all open errors)")] = None,
    config: ConfigOption = None,
    flow: Annotated[str | None, typer.Option(help="only this flow's errors")] = None,
) -> None:
    """Retry open record errors: the records are read again and re-sent."""
    hub = open_hub(config)
    report = hub.retry(error_id or None, flow=flow)
    print_report(report)


@app.command()
def prune(
    config: ConfigOption = None,
    days: Annotated[int | None, typer.Option(help="keep this many days (default: settings.keep_events_days)")] = None,
) -> None:
    """Delete old lifecycle events (sb_events); each record's last known values are kept.

    ``salesbridge run`` does this once a day by itself."""
    hub = open_hub(config)
    console.print(f"pruned {hub.prune_events(days)} event(s)")


@app.command()
def schedule(config: ConfigOption = None) -> None:
    """List scheduled flows with their next run time, and the event rules and chains."""
    from salesbridge.triggers.service import TriggerService

    hub = open_hub(config)
    table = Table(title="schedules")
    for column in ("flow", "schedule", "next run (local)", "next run (UTC)", "last run", "last run id"):
        table.add_column(column)
    for state in TriggerService(hub).schedules_now():
        local = state.next_run_at.astimezone(state.schedule.zone) if state.next_run_at else None
        table.add_row(state.flow, state.schedule.text, local.strftime("%Y-%m-%d %H:%M %Z") if local else "",
                      state.next_run_at.strftime("%Y-%m-%d %H:%M") if state.next_run_at else "",
                      state.last_run_at.strftime("%Y-%m-%d %H:%M:%S") if state.last_run_at else "never",
                      str(state.last_run_id or ""))
    console.print(table)
    rules = Table(title="event rules and chains")
    for column in ("name", "when", "runs"):
        rules.add_column(column)
    for rule in hub.config.triggers:
        rules.add_row(rule.name + ("" if rule.enabled else " (disabled)"), _rule_text(rule.on),
                      _targets_text(rule.run))
    for flow in hub.config.flows:
        if flow.chain is not None:
            rules.add_row(f"chain of {flow.name}", f"{flow.name} wrote ({', '.join(flow.chain.events)})",
                          _targets_text(flow.chain.then))
    console.print(rules)


def _rule_text(on) -> str:  # noqa: ANN001 - EventMatch
    words = [f"{on.flow}: {on.event}", on.field or "", "" if on.becomes is None else f"becomes {on.becomes}",
             "" if on.side == "any" else f"({on.side} side)"]
    return " ".join(word for word in words if word)


def _targets_text(targets) -> str:  # noqa: ANN001 - list[RunTarget]
    return ", ".join(t.flow + ("" if t.for_ == "all" else f" ({t.for_}{' via ' + t.via if t.via else ''})")
                     for t in targets)


@app.command()
def run(
    config: ConfigOption = None,
    once: Annotated[bool, typer.Option(help="run what is due now (missed schedules, pending events) and exit")]
    = False,
    poll_seconds: Annotated[float, typer.Option(help="how often the event loop looks for new events")] = 10.0,
) -> None:
    """Run the scheduler and the event loop in the foreground until Ctrl+C."""
    from salesbridge.triggers.lease import LeaseHeld
    from salesbridge.triggers.service import TriggerService

    service = TriggerService(open_hub(config), poll_seconds=poll_seconds, on_run=lambda _trigger, r: print_report(r))
    try:
        if once:
            scheduled, triggered = service.run_once()
            console.print(f"{len(scheduled)} scheduled run(s), {len(triggered)} run(s) started by event rules")
            return
        _run_forever(service, poll_seconds)
    except LeaseHeld as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from None


def _run_forever(service, poll_seconds: float) -> None:  # noqa: ANN001 - a TriggerService, imported lazily
    """``salesbridge run`` without ``--once``: announce the schedules, then serve until Ctrl+C."""

    def announce(states) -> None:  # noqa: ANN001 - list[ScheduledFlow]
        for state in states:
            console.print(f"{state.flow}: {state.schedule.text}, next run {state.next_run_at:%Y-%m-%d %H:%M} UTC")
        console.print(f"event loop every {poll_seconds:g}s, {len(service.events.rules)} rule(s); Ctrl+C stops")

    service.run_forever(announce)


#: ``salesbridge demo --flow NAME``: the module and function playing each ready-made flow's story.
FLOW_DEMOS = {
    "contracts": ("salesbridge.flows.contracts.demo", "run_contracts_demo"),
    "deals": ("salesbridge.flows.deals.demo", "run_deals_demo"),
    "renewals": ("salesbridge.flows.renewals.demo", "run_renewals_demo"),
    "pipeline": ("salesbridge.flows.pipeline.demo", "run_pipeline_demo"),
}


@app.command()
def demo(
    workdir: Annotated[Path, typer.Option(help="where the demo's files go")] = Path("salesbridge-demo"),
    keep_running: Annotated[bool, typer.Option(help="keep the sandbox running afterwards")] = False,
    flow: Annotated[str | None, typer.Option(
        help=f"play a ready-made flow's story instead: {' | '.join(FLOW_DEMOS)}")] = None,
) -> None:
    """Start the sandbox, make a demo app database and config, seed both sides and sync them both ways."""
    import importlib

    from salesbridge.demo import run_demo

    if flow is not None:
        if flow not in FLOW_DEMOS:
            console.print(f"[red]no demo for flow '{flow}' (known: {', '.join(FLOW_DEMOS)})[/red]")
            raise typer.Exit(2)
        module_name, function_name = FLOW_DEMOS[flow]
        getattr(importlib.import_module(module_name), function_name)(workdir, console)
        return
    run_demo(workdir, console, keep_running=keep_running)


@app.command()
def serve(
    config: ConfigOption = None,
    host: Annotated[str, typer.Option(help="address to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    database: Annotated[str | None, typer.Option(
        help="web database URL (accounts, sessions, encrypted secrets); default: salesbridge-web.db beside the "
             "config")] = None,
    create_admin: Annotated[str | None, typer.Option(
        "--create-admin", help="make this admin account when there is none yet (password from "
                               "$SALESBRIDGE_ADMIN_PASSWORD or asked for)")] = None,
    secure_cookies: Annotated[bool, typer.Option(help="send cookies over HTTPS only (behind TLS)")] = False,
) -> None:
    """Run the web admin and REST API (OpenAPI at /docs)."""
    import os

    from salesbridge.web.server import ADMIN_PASSWORD_VARIABLE
    from salesbridge.web.server import serve as serve_web

    password = None
    if create_admin and not os.environ.get(ADMIN_PASSWORD_VARIABLE):
        password = typer.prompt(f"password for {create_admin}", hide_input=True, confirmation_prompt=True)
    serve_web(str(config) if config else None, database, host, port, create_admin=create_admin,
              admin_password=password, cookie_secure=secure_cookies)


app.add_typer(users_app, name="users")
app.add_typer(mail_app, name="mail")
app.add_typer(contacts_app, name="contacts")
app.add_typer(deals_app, name="deals")
app.add_typer(contracts_app, name="contracts")
app.add_typer(renewals_app, name="renewals")
app.add_typer(pipeline_app, name="pipeline")
app.command("convert-lead")(convert_lead_command)


if __name__ == "__main__":  # pragma: no cover
    app()
