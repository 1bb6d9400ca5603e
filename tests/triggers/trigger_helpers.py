"""An app with leads, accounts (each made for a lead) and contacts (each of an account), and a hub config over it,
for the end-to-end trigger tests. A module of its own: test modules import it by name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, text
from sqlalchemy.orm import Session

from salesbridge.salesforce import SalesforceClient
from salesbridge.sandbox.server import RunningSandbox
from salesbridge.store.models import Run
from salesbridge.sync.config import HubConfig, parse_config
from salesbridge.sync.runs import Hub

STAGES = {"New": "Open - Not Contacted", "Pre-Approved": "Working - Contacted", "Approved": "Closed - Converted",
          "Rejected": "Closed - Not Converted"}


def create_app_tables(engine: Engine) -> None:
    metadata = MetaData()
    Table("leads", metadata,
          Column("id", Integer, primary_key=True, autoincrement=True),
          Column("last_name", String(80), nullable=False),
          Column("company", String(255), nullable=False),
          Column("stage", String(40), nullable=False, server_default="New"),
          Column("sf_id", String(18)))
    Table("accounts", metadata,
          Column("id", Integer, primary_key=True, autoincrement=True),
          Column("name", String(255), nullable=False),
          Column("lead_id", Integer),
          Column("sf_id", String(18)))
    Table("contacts", metadata,
          Column("id", Integer, primary_key=True, autoincrement=True),
          Column("last_name", String(80), nullable=False),
          Column("account_id", Integer),
          Column("sf_id", String(18)))
    metadata.create_all(engine)


def _key() -> dict[str, str]:
    return {"salesforce_id_column": "sf_id", "external_id": "Hub_Id__c"}


def leads_flow(**extra: Any) -> dict[str, Any]:
    return {"name": "leads", "salesforce": "Lead", "table": "leads", "direction": "both", "key": _key(),
            "fields": {"LastName": "last_name", "Company": "company", "Status": {"app": "stage", "values": "stages"}},
            **extra}


def accounts_flow(**extra: Any) -> dict[str, Any]:
    return {"name": "accounts", "salesforce": "Account", "table": "accounts", "direction": "to_salesforce",
            "key": _key(), "fields": {"Name": "name"}, **extra}


def contacts_flow(**extra: Any) -> dict[str, Any]:
    return {"name": "contacts", "salesforce": "Contact", "table": "contacts", "direction": "to_salesforce",
            "key": _key(), "fields": {"LastName": "last_name"}, **extra}


def config_data(org: RunningSandbox, app_url: str, flows: list[dict[str, Any]],
                triggers: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "connections": {
            "salesforce": {"login_url": org.url, "client_id": "salesbridge", "client_secret": "salesbridge-secret",
                           "username": "admin@sandbox.example", "password": "sandbox-pass",
                           "verify": str(org.ca_path)},
            "app": {"url": app_url},
        },
        "flows": flows,
        "value_maps": {"stages": STAGES},
        "triggers": triggers or [],
    }


def hub_config(org: RunningSandbox, app_url: str, flows: list[dict[str, Any]],
               triggers: list[dict[str, Any]] | None = None) -> HubConfig:
    return parse_config(config_data(org, app_url, flows, triggers), "triggers-test.yaml")


@dataclass
class App:
    """One hub over one sandbox org and one app database, with handles on both sides."""

    org: RunningSandbox
    engine: Engine
    hub: Hub
    client: SalesforceClient

    def execute(self, sql: str, **params: Any) -> None:
        """A write as any other program would make it: plain SQL, its own transaction."""
        with self.engine.begin() as connection:
            connection.execute(text(sql), params)

    def insert(self, sql: str, **params: Any) -> str:
        """Insert one row and return its key as text (the form links and events use)."""
        with self.engine.begin() as connection:
            connection.execute(text(sql), params)
            table = sql.split()[2]
            return str(connection.execute(text(f"SELECT max(id) FROM {table}")).scalar_one())

    def salesforce_names(self, sobject: str, field: str = "Name") -> set[str]:
        return {r[field] for r in self.client.query_all(f"SELECT {field} FROM {sobject}")}

    def runs(self) -> list[Run]:
        with Session(self.hub.engine) as session:
            runs = list(session.query(Run).order_by(Run.id))
            session.expunge_all()
            return runs
