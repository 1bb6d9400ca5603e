"""Opening the hub's database, bringing its tables up to date, and transactions.

The hub's tables normally share the app's database (see ``models``), so ``open_store`` takes any SQLAlchemy
URL and tunes SQLite for several processes: WAL (readers never block the writer), foreign keys on, and a busy
timeout so that a second writer waits instead of failing at once.
"""

from __future__ import annotations

import sqlite3
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session

#: Alembic's version table, renamed so that an app that uses Alembic itself keeps its ``alembic_version``.
VERSION_TABLE = "sb_alembic_version"
#: How long a SQLite writer waits for another one before "database is locked" (milliseconds).
SQLITE_BUSY_TIMEOUT_MS = 30_000
#: PostgreSQL advisory lock key that serialises hub DDL (migrations, change-log installs) across processes.
DDL_LOCK_KEY = zlib.crc32(b"salesbridge.ddl")
#: Alembic keeps its running context in module globals: two threads migrating at once would trample it.
_MIGRATE_LOCK = threading.Lock()


def open_store(url: str | URL, **engine_options: Any) -> Engine:
    """An engine for ``url`` (``sqlite:///hub.db``, ``postgresql+psycopg://...``); ``engine_options`` go to
    ``create_engine``.

    PostgreSQL schemas: pass ``?options=-csearch_path%3Dmyschema`` in the URL; every table, trigger and the
    change log then live in that schema.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        engine_options.setdefault("pool_pre_ping", True)
    engine = create_engine(parsed, **engine_options)
    if engine.dialect.name == "sqlite":
        in_memory = parsed.database in (None, "", ":memory:") or "mode=memory" in str(parsed)
        event.listen(engine, "connect", _sqlite_pragmas(use_wal=not in_memory))
    return engine


def _sqlite_pragmas(use_wal: bool) -> Any:
    def on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if use_wal:
                cursor.execute("PRAGMA journal_mode = WAL")
        finally:
            cursor.close()

    return on_connect


def alembic_config(engine_or_connection: Engine | Connection | None = None) -> Config:
    """Alembic's configuration for the migrations shipped inside the package (no alembic.ini in the cwd).

    With a connection, ``env.py`` runs on it (inside its transaction); with an engine, on a new connection.
    """
    package = resources.files("salesbridge.store")
    config = Config(str(package / "alembic.ini"))
    config.set_main_option("script_location", str(package / "migrations"))
    if engine_or_connection is not None:
        config.attributes["connection"] = engine_or_connection
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the hub's tables to ``revision`` (default: the newest). Safe to run again and from several
    processes at once: on PostgreSQL an advisory lock serialises them; on SQLite the write lock does (and
    threads of one process take turns, as Alembic's context is process-global)."""
    with _MIGRATE_LOCK, engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at, or None before the first ``migrate``."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def lock_ddl(connection: Connection) -> None:
    """Serialise hub DDL across processes until the transaction ends, so that two processes starting at once
    cannot both find a table missing and both create it.

    PostgreSQL: a transaction-level advisory lock. SQLite: ``BEGIN IMMEDIATE`` takes the write lock at once
    (Python's sqlite3 would otherwise run DDL outside any transaction); SQLite's DDL is transactional, so the
    whole migration then commits or rolls back as one.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": DDL_LOCK_KEY})
    elif connection.dialect.name == "sqlite":
        raw = connection.connection.dbapi_connection
        if raw is not None and not raw.in_transaction:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: committed when the block ends normally, rolled back when it raises."""
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
