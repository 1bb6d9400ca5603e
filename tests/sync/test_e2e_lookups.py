"""Lookup fields through links (``reference: <flow>``) and users (``user: true``), both ways, against the
sandbox: a Contact's AccountId names the company row's Account, its OwnerId the owner column's user."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, text
from sqlalchemy.orm import Session
from sync_helpers import Setup

from salesbridge.store import repository as repo
from salesbridge.sync.config import ConfigError, parse_config

MANAGER = "sales.manager@sandbox.example"


def companies_flow() -> dict[str, Any]:
    return {"name": "companies", "salesforce": "Account", "table": "companies",
            "key": {"salesforce_id_column": "sf_id", "external_id": "Hub_Id__c"}, "fields": {"Name": "name"}}


def people_flow() -> dict[str, Any]:
    return {"name": "people", "salesforce": "Contact", "table": "people",
            "key": {"salesforce_id_column": "sf_id", "external_id": "Hub_Id__c"},
            "fields": {"LastName": "last_name",
                       "AccountId": {"app": "company_id", "reference": "companies"},
                       "OwnerId": {"app": "owner_email", "user": True}}}


def build(make_setup: Callable[..., Setup], app_url: str, flows: list[dict[str, Any]]) -> Setup:
    """The two tables first (the hub installs its change log on them), then the hub."""
    metadata = MetaData()
    Table("companies", metadata, Column("id", Integer, primary_key=True, autoincrement=True),
          Column("name", String(255), nullable=False), Column("sf_id", String(18)))
    Table("people", metadata, Column("id", Integer, primary_key=True, autoincrement=True),
          Column("last_name", String(80), nullable=False), Column("company_id", Integer),
          Column("owner_email", String(80)), Column("sf_id", String(18)))
    engine = create_engine(app_url)
    metadata.create_all(engine)
    engine.dispose()
    return make_setup(flows)


def rows(setup: Setup, table: str) -> list[dict[str, Any]]:
    with setup.app.connect() as connection:
        return [dict(r._mapping) for r in connection.execute(text(f"SELECT * FROM {table} ORDER BY id"))]


def open_codes(setup: Setup, flow: str) -> list[str]:
    with Session(setup.hub.engine) as session:
        return [error.error_code for error in repo.open_errors(session, flow=flow)]


def test_references_and_users_go_both_ways(make_setup: Callable[..., Setup], app_url: str) -> None:
    setup = build(make_setup, app_url, [companies_flow(), people_flow()])
    manager = setup.client.find_user(MANAGER)
    assert manager is not None
    setup.app_exec("INSERT INTO companies (name) VALUES ('Initech'), ('Globex')")
    setup.app_exec(f"INSERT INTO people (last_name, company_id, owner_email) VALUES "
                   f"('Lumbergh', 1, '{MANAGER.upper()}'), ('Gibbons', 1, '{MANAGER}'), ('Scorpio', 2, NULL)")
    report = setup.hub.sync()
    assert report.failed == 0, report
    accounts = {a["Name"]: a["Id"] for a in setup.client.query_all("SELECT Id, Name FROM Account")}
    contacts = {c["LastName"]: c for c in setup.client.query_all("SELECT LastName, AccountId, OwnerId FROM Contact")}
    assert contacts["Lumbergh"]["AccountId"] == accounts["Initech"]
    assert contacts["Gibbons"]["AccountId"] == accounts["Initech"]
    assert contacts["Scorpio"]["AccountId"] == accounts["Globex"]
    assert contacts["Lumbergh"]["OwnerId"] == contacts["Gibbons"]["OwnerId"] == manager["Id"]
    # One User query for both people owned by the manager (names are primed per batch, case-insensitively).
    people = next(result for result in report.results if result.flow == "people")
    assert people.api_calls == 3  # the poll, the User query, the upsert
    # Scorpio's owner (the creating user, no owner given) comes back into the row once.
    echo = setup.hub.sync()
    assert echo.written == 1 and rows(setup, "people")[2]["owner_email"] is not None
    # Later runs know the owners already (the hub keeps the users it found): an edit costs the poll and the
    # update, although the poll re-reads the recent records and their owners.
    setup.app_exec("UPDATE people SET last_name = 'Lumbergh Sr' WHERE last_name = 'Lumbergh'")
    again = setup.hub.sync()
    assert next(result for result in again.results if result.flow == "people").api_calls == 2
    setup.app_exec("UPDATE people SET last_name = 'Lumbergh' WHERE last_name = 'Lumbergh Sr'")
    assert setup.hub.sync().failed == 0

    # Salesforce -> app: a Contact moved to another Account and owner comes back as the row's key and email.
    admin = setup.client.find_user("admin@sandbox.example")
    assert admin is not None
    lumbergh_id = rows(setup, "people")[0]["sf_id"]
    setup.client.update("Contact", [{"Id": lumbergh_id, "AccountId": accounts["Globex"], "OwnerId": admin["Id"]}])
    (new_account,) = setup.client.create("Account", [{"Name": "Umbrella"}])
    setup.client.create("Contact", [{"LastName": "Wesker", "AccountId": new_account.id}])
    assert setup.hub.sync().failed == 0
    people_rows = {row["last_name"]: row for row in rows(setup, "people")}
    umbrella = next(row for row in rows(setup, "companies") if row["name"] == "Umbrella")
    assert people_rows["Lumbergh"]["company_id"] == 2
    assert people_rows["Lumbergh"]["owner_email"] == admin["Email"]
    assert people_rows["Wesker"]["company_id"] == umbrella["id"]
    assert people_rows["Wesker"]["owner_email"] == setup.client.find_user("admin@sandbox.example")["Email"]

    # Nothing changed: the echo of our own writes is recognised through the lookups too.
    quiet = setup.hub.sync()
    assert quiet.written == 0 and quiet.failed == 0


def test_an_unlinked_reference_fails_alone_and_the_next_run_retries(make_setup: Callable[..., Setup],
                                                                   app_url: str) -> None:
    # people runs before companies: its rows name companies not linked yet.
    setup = build(make_setup, app_url, [people_flow(), companies_flow()])
    setup.app_exec("INSERT INTO companies (name) VALUES ('Initech')")
    setup.app_exec("INSERT INTO people (last_name, company_id) VALUES ('Lumbergh', 1), ('Loner', NULL)")
    first = setup.hub.sync()
    assert first.failed == 1
    assert open_codes(setup, "people") == ["UNLINKED_REFERENCE"]
    assert [c["LastName"] for c in setup.client.query_all("SELECT LastName FROM Contact")] == ["Loner"]

    second = setup.hub.sync()  # nothing changed in the app: the waiting row is tried again and now goes
    assert second.failed == 0
    assert open_codes(setup, "people") == []
    (contact,) = setup.client.query_all("SELECT AccountId FROM Contact WHERE LastName = 'Lumbergh'")
    assert contact["AccountId"] == rows(setup, "companies")[0]["sf_id"]


def test_a_record_naming_an_unsynced_record_waits_for_it(make_setup: Callable[..., Setup], app_url: str) -> None:
    companies = {**companies_flow(), "filter": {"salesforce": "Name != 'Hidden'"}}
    setup = build(make_setup, app_url, [companies, people_flow()])
    (hidden,) = setup.client.create("Account", [{"Name": "Hidden"}])
    (contact,) = setup.client.create("Contact", [{"LastName": "Secret", "AccountId": hidden.id}])
    assert setup.hub.sync().failed == 1
    assert open_codes(setup, "people") == ["UNLINKED_REFERENCE"]
    assert rows(setup, "people") == []

    setup.client.update("Account", [{"Id": hidden.id, "Name": "Shown"}])
    assert setup.hub.sync().failed == 0
    (person,) = rows(setup, "people")
    assert person["sf_id"] == contact.id and person["company_id"] == rows(setup, "companies")[0]["id"]
    assert open_codes(setup, "people") == []


def test_an_unknown_owner_is_the_records_error(make_setup: Callable[..., Setup], app_url: str) -> None:
    setup = build(make_setup, app_url, [companies_flow(), people_flow()])
    setup.app_exec("INSERT INTO people (last_name, owner_email) VALUES ('Ghost', 'nobody@nowhere.example'), "
                   "('Real', NULL)")
    report = setup.hub.sync()
    assert report.failed == 1
    assert open_codes(setup, "people") == ["UNKNOWN_USER"]
    assert [c["LastName"] for c in setup.client.query_all("SELECT LastName FROM Contact")] == ["Real"]


@pytest.mark.parametrize(("field", "problem"), [
    ({"app": "company_id", "reference": "nowhere"}, "flow 'nowhere' is not defined"),
    ({"app": "company_id", "reference": "companies", "values": "pipeline"}, "exclude each other"),
])
def test_lookup_config_mistakes_are_named(field: dict[str, Any], problem: str) -> None:
    flows = [companies_flow(), {**people_flow(), "fields": {"LastName": "last_name", "AccountId": field}}]
    with pytest.raises(ConfigError, match=problem):
        parse_config({"connections": {"salesforce": {"login_url": "https://x.example", "client_id": "c",
                                                     "client_secret": "s", "username": "u", "password": "p"},
                                      "app": {"url": "sqlite://"}},
                      "flows": flows, "value_maps": {"pipeline": {"a": "b"}}}, "t.yaml")
