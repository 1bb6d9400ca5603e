"""``salesbridge check``: is the configuration consistent with the org and the app database (and can the mail
and contacts flows reach their mailbox and address book: ``salesbridge.flows.checks``)?

Each problem names where it is in the config and exactly what is wrong, so that an admin fixes all of them in
one pass instead of discovering them one failed run at a time.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import create_engine, inspect

from salesbridge.flows.checks import check_sources
from salesbridge.salesforce import AuthenticationError, SalesforceClient, SalesforceError
from salesbridge.sync.config import FlowConfig, HubConfig
from salesbridge.sync.connect import salesforce_client
from salesbridge.sync.rules import default_users


def check_hub(config: HubConfig, report: Callable[[str], None] = lambda _line: None,
              client: SalesforceClient | None = None) -> list[str]:
    """All problems found (empty when everything is fine); ``report`` hears what was checked successfully."""
    problems: list[str] = []
    client = client or salesforce_client(config)
    try:
        client.login()
        report(f"logged in to Salesforce at {config.connections.salesforce.login_url}")
    except (AuthenticationError, OSError) as error:
        return [f"connections.salesforce: cannot log in: {error}", *check_sources(config, report, None)]
    engine = create_engine(config.connections.app.url)
    try:
        with engine.connect():
            report(f"connected to the app database {engine.url.render_as_string(hide_password=True)}")
    except Exception as error:  # noqa: BLE001 - any driver error is a problem to show, not a crash
        return [f"connections.app.url: cannot connect: {error}", *check_sources(config, report, client)]
    inspector = inspect(engine)
    for index, flow in enumerate(config.flows):
        where = f"flows[{index}] ({flow.name})"
        found = _check_salesforce_side(config, flow, where, client) + _check_app_side(flow, where, inspector)
        problems.extend(found)
        if not found:
            report(f"{where}: {flow.salesforce} <-> {flow.table}, {len(flow.fields)} fields")
    engine.dispose()
    problems.extend(check_sources(config, report, client))
    return problems


def _check_salesforce_side(config: HubConfig, flow: FlowConfig, where: str, client: SalesforceClient) -> list[str]:
    try:
        describe = client.describe(flow.salesforce)
    except SalesforceError as error:
        return [f"{where}.salesforce: object '{flow.salesforce}' is not available: {error.message}"]
    fields = {f["name"].lower(): f for f in describe["fields"]}
    problems = []
    for field_map in flow.fields:
        key = f"{where}.fields.{field_map.salesforce}"
        described = fields.get(field_map.salesforce.lower())
        if described is None:
            problems.append(f"{key}: {flow.salesforce} has no field '{field_map.salesforce}'")
            continue
        if field_map.flows_to_salesforce(flow.direction) and not (described["createable"] or described["updateable"]):
            problems.append(f"{key}: {flow.salesforce}.{described['name']} is read-only; set "
                            "direction: from_salesforce on this field")
        if field_map.values and described.get("picklistValues"):
            allowed = {p["value"] for p in described["picklistValues"] if p.get("active", True)}
            value_map = config.value_maps[field_map.values]
            unknown = sorted(set(value_map.to_salesforce.values()) - allowed)
            if unknown:
                problems.append(f"{key}: value map '{field_map.values}' sends {unknown}, which are not values of "
                                f"{flow.salesforce}.{described['name']} (allowed: {sorted(allowed)})")
    for user in sorted(default_users(flow.defaults)):
        if client.find_user(user) is None:
            problems.append(f"{where}.defaults: no active Salesforce user with username or email '{user}'")
    if flow.sync_flag:
        described = fields.get(flow.sync_flag.lower())
        if described is None or described.get("type") != "boolean":
            problems.append(f"{where}.sync_flag: {flow.salesforce}.{flow.sync_flag} is not a checkbox field")
    for sf_field in (flow.match.fields if flow.match else {}):
        if sf_field.lower() not in fields:
            problems.append(f"{where}.match.fields.{sf_field}: {flow.salesforce} has no field '{sf_field}'")
    external = flow.key.external_id
    if external:
        described = fields.get(external.lower())
        if described is None:
            problems.append(f"{where}.key.external_id: {flow.salesforce} has no field '{external}'")
        elif not (described.get("externalId") or described.get("idLookup")):
            problems.append(f"{where}.key.external_id: {flow.salesforce}.{external} is not an external id field")
    if flow.filter.salesforce:
        try:
            client.query_all(f"SELECT Id FROM {flow.salesforce} WHERE {flow.filter.salesforce} LIMIT 1")
        except SalesforceError as error:
            problems.append(f"{where}.filter.salesforce: {error.error_code}: {error.message}")
    return problems


def _check_app_side(flow: FlowConfig, where: str, inspector) -> list[str]:  # noqa: ANN001 - Inspector
    if not inspector.has_table(flow.table):
        return [f"{where}.table: the app database has no table '{flow.table}'"]
    columns = {c["name"] for c in inspector.get_columns(flow.table)}
    problems = [f"{where}.fields.{f.salesforce}: table '{flow.table}' has no column '{f.app}'"
                for f in flow.fields if f.app not in columns]
    for label, column in (("key.app", flow.key.app), ("key.salesforce_id_column", flow.key.salesforce_id_column)):
        if column and column not in columns:
            problems.append(f"{where}.{label}: table '{flow.table}' has no column '{column}'")
    if not flow.key.app:
        primary = inspector.get_pk_constraint(flow.table).get("constrained_columns") or []
        if len(primary) != 1:
            problems.append(f"{where}.key.app: table '{flow.table}' needs a single-column primary key, or name "
                            "its key column in key.app")
    return problems
