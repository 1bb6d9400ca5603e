"""Databases for the hub-store tests: a temporary SQLite file, and an isolated schema on the test PostgreSQL.

Each PostgreSQL test gets its own schema (reached through ``search_path`` in the URL) that is dropped
afterwards, so that several test runs can share the server. ``postgres_url`` comes from tests/conftest.py and
fails, never skips, when PostgreSQL is unreachable.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from salesbridge.store.db import open_store


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('store') / 'app.db'}"
        return
    base = request.getfixturevalue("postgres_url")
    schema = f"sb_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = open_store(db_url)
    try:
        yield engine
    finally:
        engine.dispose()
