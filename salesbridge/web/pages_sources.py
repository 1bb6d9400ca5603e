"""What the setup wizard reads: the org (objects, fields, users) and the app database (tables, columns and
their values).

The wizard runs before a configuration exists, so it cannot use the hub's clients: it logs in with the answers
of step 1 (secrets from the vault) and keeps that client while the answers stay the same, so the describe
results it caches are reused from step to step. The app database is opened the same way. Both are kept on the
app (``app.state``), one per process, and used one request at a time.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine, MetaData, Table, create_engine, distinct, inspect, select
from sqlalchemy.exc import SQLAlchemyError

from salesbridge.salesforce import SalesforceClient
from salesbridge.sync.config import ConfigError, SalesforceConnection, substitute_env
from salesbridge.sync.connect import login_settings
from salesbridge.web.state import INTERACTIVE_RETRY
from salesbridge.web.wizard import WizardError, WizardState

#: Tables of the hub itself (and Alembic's): never offered as app tables.
_HUB_TABLE_PREFIXES = ("sb_", "alembic_")
DISTINCT_VALUES_LIMIT = 200
#: The wizard waits for the org while a person waits for the page: fail fast rather than hang.
INTERACTIVE_TIMEOUT_SECONDS = 20.0


@dataclass(frozen=True)
class TableInfo:
    name: str
    columns: list[str]
    types: dict[str, str]
    primary_key: str | None


def connection_settings(answers: Mapping[str, Any], environ: Mapping[str, str]) -> SalesforceConnection:
    """Step 1's answers as a validated connection, ``${...}`` references filled in; raises WizardError."""
    try:
        filled = substitute_env(dict(answers), "connections.salesforce", dict(environ))
        return SalesforceConnection.model_validate(filled)
    except ConfigError as error:
        raise WizardError(error.expected) from None
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        message = first["msg"].removeprefix("Value error, ")
        raise WizardError(f"{where}: {message}" if where else message) from None


class WizardSources:
    """The org client and app engine for the current answers (replaced when the answers change)."""

    def __init__(self) -> None:
        self._org_lock = threading.RLock()  # held while a request uses the client
        self._engine_lock = threading.Lock()
        self._client: tuple[str, SalesforceClient] | None = None
        self._engine: tuple[str, Engine] | None = None

    @contextmanager
    def org(self, state: WizardState, environ: Mapping[str, str]) -> Iterator[SalesforceClient]:
        """A client logged in with step 1's answers (raises WizardError when they are incomplete)."""
        connection = connection_settings(state.salesforce, environ)
        fingerprint = hashlib.sha256(json.dumps(
            {**connection.model_dump(mode="json"),
             **{k: v.get_secret_value() for k in ("client_secret", "password", "security_token")
                if (v := getattr(connection, k)) is not None}}, sort_keys=True).encode()).hexdigest()
        with self._org_lock:
            if self._client is None or self._client[0] != fingerprint:
                if self._client is not None:
                    self._client[1].close()
                settings = replace(login_settings(connection), timeout=INTERACTIVE_TIMEOUT_SECONDS)
                self._client = (fingerprint, SalesforceClient(settings, api_version=connection.api_version,
                                                              retry=INTERACTIVE_RETRY))
            yield self._client[1]

    def engine(self, state: WizardState, environ: Mapping[str, str]) -> Engine:
        """The app database of step 1's answers (its URL may refer to a stored secret)."""
        if not state.app_url:
            raise WizardError("the app database URL is not set (step 1)")
        try:
            url = substitute_env(state.app_url, "connections.app.url", dict(environ))
        except ConfigError as error:
            raise WizardError(error.expected) from None
        with self._engine_lock:
            if self._engine is None or self._engine[0] != url:
                if self._engine is not None:
                    self._engine[1].dispose()
                try:
                    self._engine = (url, create_engine(url))
                except (SQLAlchemyError, ValueError, ImportError) as error:
                    raise WizardError(f"not a usable database URL: {error}") from None
            return self._engine[1]

    def close(self) -> None:
        with self._org_lock, self._engine_lock:
            if self._client is not None:
                self._client[1].close()
            if self._engine is not None:
                self._engine[1].dispose()
            self._client = self._engine = None


def sources(app_state: Any) -> WizardSources:
    """The app's WizardSources, made on first use."""
    found = getattr(app_state, "wizard_sources", None)
    if found is None:
        found = app_state.wizard_sources = WizardSources()
    return found


def check_database(engine: Engine) -> None:
    """Connect once; raises WizardError with the driver's message."""
    try:
        with engine.connect():
            pass
    except SQLAlchemyError as error:
        raise WizardError(f"cannot connect to the app database: {error.__class__.__name__}: "
                          f"{str(error).splitlines()[0]}") from None


def app_tables(engine: Engine) -> list[TableInfo]:
    """The app's tables (not the hub's own), with columns in table order."""
    inspector = inspect(engine)
    tables = []
    for name in sorted(inspector.get_table_names()):
        if name.startswith(_HUB_TABLE_PREFIXES):
            continue
        columns = inspector.get_columns(name)
        keys = inspector.get_pk_constraint(name).get("constrained_columns") or []
        types = {c["name"]: str(c["type"]) for c in columns}
        tables.append(TableInfo(name, list(types), types, keys[0] if len(keys) == 1 else None))
    return tables


def distinct_values(engine: Engine, table: str, column: str) -> list[Any]:
    """The values a column holds (up to a limit): "our" values of a status field."""
    reflected = Table(table, MetaData(), autoload_with=engine)
    if column not in reflected.c:
        return []
    values = reflected.c[column]
    query = select(distinct(values)).where(values.is_not(None)).limit(DISTINCT_VALUES_LIMIT)
    with engine.connect() as connection:
        return [row[0] for row in connection.execute(query)]


def org_objects(client: SalesforceClient) -> list[dict[str, Any]]:
    """Objects a flow can sync (queryable), by label."""
    objects = [o for o in client.describe_global().get("sobjects") or [] if o.get("queryable")]
    return sorted(objects, key=lambda o: (str(o.get("label") or o["name"]).lower(), o["name"]))


def org_users(client: SalesforceClient) -> list[dict[str, Any]]:
    """Active users of the org, by name: the choices for a default owner."""
    return client.query_all("SELECT Id, Name, Username, Email FROM User WHERE IsActive = true "
                            "ORDER BY Name LIMIT 2000")
