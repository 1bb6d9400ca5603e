"""Fixtures for end-to-end sync tests: a sandbox org with the example schema (Hub_Id__c external ids), an app
database on SQLite or on the running PostgreSQL (own schema per test), and a helper to build a Hub."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine
from sync_helpers import Setup, create_leads_table, hub_config, lead_flow

from salesbridge.sandbox.server import RunningSandbox
from salesbridge.sync.connect import salesforce_client
from salesbridge.sync.runs import Hub


@pytest.fixture
def make_setup(org: RunningSandbox, app_url: str) -> Iterator[Callable[..., Setup]]:
    engines: list[Engine] = []

    def build(flows: list[dict[str, Any]] | None = None, **settings: Any) -> Setup:
        engine = create_engine(app_url)
        engines.append(engine)
        if not engines[:-1]:
            create_leads_table(engine)
        config = hub_config(org, app_url, flows or [lead_flow()], **settings)
        hub = Hub(config)
        engines.append(hub.engine)
        # A second client for the test's own Salesforce edits, so the hub's call counts stay its own.
        return Setup(org, engine, hub, salesforce_client(config))

    yield build
    for engine in engines:
        engine.dispose()
