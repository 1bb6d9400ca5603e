"""Helpers for the end-to-end sync tests (a module of its own: test modules import it by name)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, text

from salesbridge.salesforce import SalesforceClient
from salesbridge.sandbox.server import RunningSandbox
from salesbridge.sync.config import HubConfig, parse_config
from salesbridge.sync.runs import Hub


def create_leads_table(engine: Engine) -> Table:
    metadata = MetaData()
    table = Table(
        "leads", metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("first_name", String(40)),
        Column("last_name", String(80), nullable=False),
        Column("company", String(255), nullable=False),
        Column("email", String(80)),
        Column("stage", String(40), nullable=False, server_default="New"),
        Column("sf_id", String(18)),
        Column("owner_id", String(18)),
    )
    metadata.create_all(engine)
    return table


PIPELINE = {"New": "Open - Not Contacted", "Qualified": "Working - Contacted", "Won": "Closed - Converted",
            "Lost": "Closed - Not Converted"}


STAGES = {"New": "Prospecting", "Qualified": "Qualification", "Won": "Closed Won", "Lost": "Closed Lost"}


def lead_flow(**overrides: Any) -> dict[str, Any]:
    flow = {"name": "leads", "salesforce": "Lead", "table": "leads", "direction": "both",
            "key": {"salesforce_id_column": "sf_id", "external_id": "Hub_Id__c"},
            "fields": {"FirstName": "first_name", "LastName": "last_name", "Company": "company",
                       "Email": "email", "Status": {"app": "stage", "values": "pipeline"}}}
    flow.update(overrides)
    return flow


def hub_config(org: RunningSandbox, app_url: str, flows: list[dict[str, Any]], **settings: Any) -> HubConfig:
    return parse_config({
        "connections": {
            "salesforce": {"login_url": org.url, "client_id": "salesbridge", "client_secret": "salesbridge-secret",
                           "username": "admin@sandbox.example", "password": "sandbox-pass",
                           "verify": str(org.ca_path)},
            "app": {"url": app_url},
        },
        "settings": settings,
        "flows": flows,
        "value_maps": {"pipeline": PIPELINE, "stages": STAGES},
    }, "test.yaml")


@dataclass
class Setup:
    """One hub wired to one sandbox org and one app database, with handles on both sides."""

    org: RunningSandbox
    app: Engine
    hub: Hub
    client: SalesforceClient

    def app_rows(self) -> list[dict[str, Any]]:
        with self.app.connect() as connection:
            return [dict(r._mapping) for r in connection.execute(text("SELECT * FROM leads ORDER BY id"))]

    def app_exec(self, sql: str, **params: Any) -> None:
        """A write as any other program would make it: plain SQL, its own transaction."""
        with self.app.begin() as connection:
            connection.execute(text(sql), params)

    def sf_leads(self, include_deleted: bool = False) -> list[dict[str, Any]]:
        soql = "SELECT Id, FirstName, LastName, Company, Email, Status, Hub_Id__c, IsDeleted FROM Lead ORDER BY Id"
        return [{k: v for k, v in r.items() if k != "attributes"}
                for r in self.client.query_all(soql, include_deleted=include_deleted)]



def lead_values(first: str, last: str, company: str, status: str = "Open - Not Contacted") -> dict[str, Any]:
    return {"FirstName": first, "LastName": last, "Company": company, "Status": status,
            "Email": f"{first.lower()}@{company.split()[0].lower()}.example"}
