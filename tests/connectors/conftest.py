"""Databases for the SQL connector tests: a temporary SQLite file, and an isolated schema on the test
PostgreSQL.

Each PostgreSQL test gets its own schema (reached through ``search_path`` in the URL) that is dropped
afterwards, so that several test runs can share the server. ``postgres_url`` comes from tests/conftest.py and
fails, never skips, when PostgreSQL is unreachable.

``Database.raw_connect()`` opens a plain DB-API connection the way another program would (``sqlite3`` on the
file; ``psycopg`` with the server's default ``search_path``, reaching our tables by schema-qualified name).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from postgres_support import isolated_schema
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from salesbridge.store.db import open_store


@dataclass
class Database:
    url: str
    dialect: str
    path: Path | None = None
    schema: str | None = None
    base_url: str | None = None

    def qualified(self, table: str) -> str:
        """A table name another program can use whatever its search_path."""
        return f'"{self.schema}"."{table}"' if self.schema else f'"{table}"'

    def raw_connect(self) -> Any:
        if self.dialect == "sqlite":
            return sqlite3.connect(self.path, timeout=30)
        assert self.base_url is not None
        return psycopg.connect(make_url(self.base_url).set(drivername="postgresql").render_as_string(False))

    def with_options(self, options: str) -> str:
        """The URL with extra libpq ``options`` (PostgreSQL), e.g. another session time zone."""
        url = make_url(self.url)
        return url.update_query_dict({"options": f"{url.query['options']} {options}"}).render_as_string(False)


@contextmanager
def isolated_postgres(base: str) -> Iterator[Database]:
    with isolated_schema(base) as (url, schema):
        yield Database(url, "postgresql", schema=schema, base_url=base)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    if request.param == "sqlite":
        yield request.getfixturevalue("sqlite_database")
        return
    with isolated_postgres(request.getfixturevalue("postgres_url")) as database:
        yield database


@pytest.fixture
def sqlite_database(tmp_path_factory: pytest.TempPathFactory) -> Database:
    path = tmp_path_factory.mktemp("sql") / "app.db"
    return Database(f"sqlite:///{path}", "sqlite", path=path)


@pytest.fixture
def postgres_database(postgres_url: str) -> Iterator[Database]:
    with isolated_postgres(postgres_url) as database:
        yield database


@pytest.fixture
def db_url(database: Database) -> str:
    return database.url


@pytest.fixture
def engine(database: Database) -> Iterator[Engine]:
    engine = open_store(database.url)
    try:
        yield engine
    finally:
        engine.dispose()
