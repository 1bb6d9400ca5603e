"""Databases for the hub-store tests: a temporary SQLite file, and an isolated schema on the test PostgreSQL.

Each PostgreSQL test gets its own schema (reached through ``search_path`` in the URL) that is dropped
afterwards, so that several test runs can share the server. ``postgres_url`` comes from tests/conftest.py and
fails, never skips, when PostgreSQL is unreachable.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from postgres_support import isolated_schema
from sqlalchemy import Engine

from salesbridge.store.db import open_store


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('store') / 'app.db'}"
        return
    with isolated_schema(request.getfixturevalue("postgres_url")) as (url, _schema):
        yield url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = open_store(db_url)
    try:
        yield engine
    finally:
        engine.dispose()
