"""Fixtures for the end-to-end trigger tests: a sandbox org with the example schema (Hub_Id__c external ids), an
app database on SQLite or on the running PostgreSQL (own schema per test), and a builder of hubs over them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine
from trigger_helpers import App, create_app_tables, hub_config

from salesbridge.sandbox.server import RunningSandbox
from salesbridge.sync.connect import salesforce_client
from salesbridge.sync.runs import Hub


@pytest.fixture
def sqlite_url(tmp_path) -> str:  # noqa: ANN001
    """For tests whose subject is not the database (schedules, the command line)."""
    return f"sqlite:///{tmp_path / 'app.db'}"


@pytest.fixture
def make_app(org: RunningSandbox) -> Iterator[Callable[..., App]]:
    """``make_app(url, flows, triggers)``: the app tables (made once per URL) and a new Hub over them.

    Building a second hub on the same URL is a restart: same database, new process state.
    """
    engines: list[Engine] = []
    made: set[str] = set()

    def build(url: str, flows: list[dict[str, Any]], triggers: list[dict[str, Any]] | None = None) -> App:
        engine = create_engine(url)
        engines.append(engine)
        if url not in made:
            create_app_tables(engine)
            made.add(url)
        config = hub_config(org, url, flows, triggers)
        hub = Hub(config)
        engines.append(hub.engine)
        return App(org, engine, hub, salesforce_client(config))

    yield build
    for engine in engines:
        engine.dispose()
