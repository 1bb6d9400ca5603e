"""Fixtures of the renewal tests: a sandbox org with the renewals schema, and a hub with the renewal recipe on
the app database of ``app_url`` (SQLite, or an isolated PostgreSQL schema)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from renewals_support import renewals_config

from salesbridge.demo import demo_schema_file
from salesbridge.flows.renewals.recipe import sandbox_schema_file
from salesbridge.sandbox.server import RunningSandbox, start_in_thread
from salesbridge.sync.config import parse_config
from salesbridge.sync.runs import Hub


@pytest.fixture
def renewals_org() -> Iterator[RunningSandbox]:
    running = start_in_thread(schema_files=(demo_schema_file(), sandbox_schema_file()))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def make_hub(renewals_org: RunningSandbox) -> Iterator[Callable[..., Hub]]:
    """Build a hub on a URL with the recipe, optionally edited (``edit(config_dict)``); disposed at the end."""
    built: list[Hub] = []

    def make(url: str, edit: Callable[[dict[str, Any]], None] | None = None, **options: Any) -> Hub:
        config = renewals_config(renewals_org, url, **options)
        if edit is not None:
            edit(config)
        hub = Hub(parse_config(config, "renewals.yaml"))
        built.append(hub)
        return hub

    yield make
    for hub in built:
        hub.engine.dispose()


@pytest.fixture
def hub(make_hub: Callable[..., Hub], app_url: str) -> Hub:
    return make_hub(app_url)
