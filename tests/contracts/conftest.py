"""The org every contract request test runs against: the example schema and the contracts schema file."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from salesbridge.demo import demo_schema_file
from salesbridge.flows.contracts.recipe import sandbox_schema_file
from salesbridge.sandbox.server import RunningSandbox, start_in_thread


@pytest.fixture
def contracts_org() -> Iterator[RunningSandbox]:
    running = start_in_thread(schema_files=(demo_schema_file(), sandbox_schema_file()))
    try:
        yield running
    finally:
        running.stop()
