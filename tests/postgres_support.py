"""PostgreSQL for tests: the server's URL, a check that fails (never skips) when it is missing, and an isolated
schema per test so that several test runs can share one server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlparse

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_base_url() -> str:
    return os.environ.get("SALESBRIDGE_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


def require_postgres(url: str) -> str:
    """``url`` when a PostgreSQL server answers there; otherwise the test fails (a missing database is a broken
    test environment, not a reason to skip)."""
    conninfo = urlparse(url)._replace(scheme="postgresql").geturl()
    try:
        with psycopg.connect(conninfo, connect_timeout=5) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as error:
        pytest.fail(f"PostgreSQL is required for this test and is unreachable at {url} "
                    f"(set SALESBRIDGE_TEST_POSTGRES_URL): {error}")
    return url


@contextmanager
def isolated_schema(base_url: str, prefix: str = "sb_test") -> Iterator[tuple[str, str]]:
    """A fresh schema on the server, dropped afterwards: yields (URL whose search_path is it, schema name)."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False), schema
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
