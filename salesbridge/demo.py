"""``salesbridge demo``: the whole loop on one machine, offline.

It starts the sandbox org, creates an app database and a config file, puts records on both sides, and syncs
them both ways three times: the first sync links and copies everything, the second carries edits and deletes
from each side, and the third finds nothing to do at the cost of one query per flow.
"""

from __future__ import annotations

import socket
import sqlite3
import time
from importlib import resources
from pathlib import Path

import yaml
from rich.console import Console
from rich.table import Table
from sqlalchemy import text

from salesbridge.sandbox.server import RunningSandbox, start_in_thread
from salesbridge.sync.config import parse_config
from salesbridge.sync.runs import Hub, RunReport

DEMO_PORT = 8787

APP_SCHEMA = """
CREATE TABLE accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    website TEXT,
    industry TEXT,
    sf_id TEXT
);
CREATE TABLE leads (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    first_name TEXT,
    last_name TEXT NOT NULL,
    company TEXT NOT NULL,
    email TEXT,
    stage TEXT NOT NULL DEFAULT 'New',
    sf_id TEXT
);
INSERT INTO accounts (name, website, industry) VALUES
    ('Northwind Traders', 'https://northwind.example', 'Retail'),
    ('Contoso Pharmaceuticals', 'https://contoso.example', 'Healthcare');
INSERT INTO leads (first_name, last_name, company, email, stage) VALUES
    ('Grace', 'Hopper', 'Navy Labs', 'grace@navylabs.example', 'New'),
    ('Alan', 'Turing', 'Bletchley Park', 'alan@bletchley.example', 'Qualified'),
    ('Katherine', 'Johnson', 'Langley', 'katherine@langley.example', 'New');
"""

SALESFORCE_ACCOUNTS = [
    {"Name": "Globex Corporation", "Website": "https://globex.example", "Industry": "Manufacturing"},
    {"Name": "Initech", "Website": "https://initech.example", "Industry": "Technology"},
    {"Name": "Umbrella Corp", "Website": "https://umbrella.example", "Industry": "Biotechnology"},
]
SALESFORCE_LEADS = [
    {"FirstName": "Ada", "LastName": "Lovelace", "Company": "Analytical Engines", "Email": "ada@engines.example"},
    {"FirstName": "Charles", "LastName": "Babbage", "Company": "Difference Ltd", "Email": "charles@diff.example",
     "Status": "Working - Contacted"},
    {"FirstName": "Hedy", "LastName": "Lamarr", "Company": "Frequency Hopping Inc", "Email": "hedy@fh.example"},
    {"FirstName": "Linus", "LastName": "Torvalds", "Company": "Kernel Works", "Email": "linus@kernel.example"},
]


def demo_schema_file() -> str:
    """The sandbox schema file that adds the Hub_Id__c external ids the demo's flows upsert through."""
    return str(resources.files("salesbridge.sandbox.schema") / "example_schema.yaml")


def demo_config(sandbox: RunningSandbox, app_db: Path) -> dict:
    return {
        "connections": {
            "salesforce": {"login_url": sandbox.url, "flow": "password", "client_id": "salesbridge",
                           "client_secret": "${SALESBRIDGE_DEMO_SECRET:-salesbridge-secret}",
                           "username": "admin@sandbox.example", "password": "sandbox-pass",
                           "verify": str(sandbox.ca_path)},
            "app": {"url": f"sqlite:///{app_db}"},
        },
        "flows": [
            {"name": "accounts", "salesforce": "Account", "table": "accounts", "direction": "both",
             "key": {"salesforce_id_column": "sf_id", "external_id": "Hub_Id__c"},
             "fields": {"Name": "name", "Website": "website", "Industry": "industry"}},
            {"name": "leads", "salesforce": "Lead", "table": "leads", "direction": "both",
             "key": {"salesforce_id_column": "sf_id", "external_id": "Hub_Id__c"},
             "fields": {"FirstName": "first_name", "LastName": "last_name", "Company": "company",
                        "Email": {"app": "email", "transform": "lower"},
                        "Status": {"app": "stage", "values": "pipeline"}}},
        ],
        "value_maps": {"pipeline": {"New": "Open - Not Contacted", "Qualified": "Working - Contacted",
                                    "Won": "Closed - Converted", "Lost": "Closed - Not Converted"}},
    }


def _free_port(preferred: int) -> int:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            return 0


def run_demo(workdir: Path, console: Console, *, keep_running: bool = False) -> list[RunReport]:
    """Play the demo in ``workdir`` (its previous files are replaced) and print each step."""
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    for name in ("sandbox.db", "sandbox.db-wal", "sandbox.db-shm", "app.db"):
        (workdir / name).unlink(missing_ok=True)
    console.rule("[bold]salesbridge demo")
    sandbox = start_in_thread(data=str(workdir / "sandbox.db"), schema_files=(demo_schema_file(),),
                              port=_free_port(DEMO_PORT))
    console.print(f"Sandbox org running at [cyan]{sandbox.url}[/cyan] (certificate {sandbox.ca_path})")
    app_db = workdir / "app.db"
    with sqlite3.connect(app_db) as connection:
        connection.executescript(APP_SCHEMA)
    config_data = demo_config(sandbox, app_db)
    config_path = workdir / "salesbridge.yaml"
    config_path.write_text(yaml.safe_dump(config_data, sort_keys=False))
    console.print(f"App database [cyan]{app_db}[/cyan], config [cyan]{config_path}[/cyan]")
    hub = Hub(parse_config(config_data, config_path))

    sf_accounts = hub.client.create("Account", SALESFORCE_ACCOUNTS)
    sf_leads = hub.client.create("Lead", SALESFORCE_LEADS)
    console.print(f"Seeded Salesforce with {len(sf_accounts)} accounts and {len(sf_leads)} leads, "
                  "the app with 2 accounts and 3 leads.")
    reports = []

    console.rule("1. first sync: everything is copied and linked")
    reports.append(_sync_and_show(hub, console))
    _show_leads(hub, console)

    console.rule("2. edits and deletes on both sides")
    with hub.engine.begin() as connection:
        connection.execute(text("UPDATE leads SET stage = 'Won' WHERE last_name = 'Turing'"))
        connection.execute(text("DELETE FROM leads WHERE last_name = 'Johnson'"))
    hub.client.update("Lead", [{"Id": sf_leads[0].id, "Company": "Analytical Engines plc"}])
    hub.client.delete([sf_accounts[2].id])
    console.print("App: Turing -> Won, Johnson deleted.  Salesforce: Lovelace's company renamed, Umbrella deleted.")
    reports.append(_sync_and_show(hub, console))
    _show_leads(hub, console)

    console.rule("3. nothing changed: one query per flow")
    reports.append(_sync_and_show(hub, console))
    console.print(f"\nFiles are in {workdir}. Bring the org back with: salesbridge sandbox --port "
                  f"{sandbox.port} --data {workdir / 'sandbox.db'} --schema {demo_schema_file()}\n"
                  f"then try: salesbridge --help, salesbridge status -c {config_path}")
    if keep_running:
        console.print("Sandbox keeps running; press Ctrl+C to stop.")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    sandbox.stop()
    return reports


def _sync_and_show(hub: Hub, console: Console) -> RunReport:
    from salesbridge.cli import print_report

    report = hub.sync()
    print_report(report)
    return report


def _show_leads(hub: Hub, console: Console) -> None:
    table = Table(title="leads: app row <-> Salesforce Lead")
    for column in ("app id", "name", "stage (app)", "Salesforce Id", "Status (Salesforce)", "Company"):
        table.add_column(column)
    with hub.engine.connect() as connection:
        rows = connection.execute(text("SELECT id, first_name, last_name, stage, sf_id FROM leads ORDER BY id"))
        app_rows = list(rows)
    sf_rows = {r["Id"]: r for r in hub.client.query_all("SELECT Id, Status, Company FROM Lead")}
    for row in app_rows:
        twin = sf_rows.get(row.sf_id or "", {})
        table.add_row(str(row.id), f"{row.first_name} {row.last_name}", row.stage, row.sf_id or "-",
                      twin.get("Status", "-"), twin.get("Company", "-"))
    console.print(table)
