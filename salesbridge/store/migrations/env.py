"""Alembic environment of the hub's tables.

Run by ``salesbridge.store.db.migrate`` (which hands over a connection in ``config.attributes``) or by the
alembic CLI (URL from ``sqlalchemy.url`` or ``SALESBRIDGE_STORE_URL``). Only ``sb_*`` tables of our metadata
are compared, because the database is shared with the app: autogenerate must never propose dropping app
tables, and the change log (``sb_change_log``, made by the SQL connector) is not ours to migrate.
"""

from __future__ import annotations

import os
from logging.config import fileConfig
from typing import Any

from alembic import context
from sqlalchemy import Connection, Engine

from salesbridge.store import (  # noqa: F401 - registers their tables on Base.metadata
    mail_models,
    web_models,
)
from salesbridge.store.db import VERSION_TABLE, lock_ddl, open_store
from salesbridge.store.models import Base

config = context.config
target_metadata = Base.metadata


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    if type_ == "table":
        return name in target_metadata.tables
    return True


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table=VERSION_TABLE,
        include_object=include_object,
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        lock_ddl(connection)
        context.run_migrations()


def run_online() -> None:
    given = config.attributes.get("connection")
    if isinstance(given, Connection):
        run_on(given)
        return
    engine = given if isinstance(given, Engine) else None
    if engine is None:
        if config.config_file_name and config.cmd_opts is not None:
            fileConfig(config.config_file_name, disable_existing_loggers=False)
        url = config.get_main_option("sqlalchemy.url") or os.environ.get("SALESBRIDGE_STORE_URL")
        if not url:
            raise RuntimeError("no database: set SALESBRIDGE_STORE_URL or sqlalchemy.url")
        engine = open_store(url)
    with engine.connect() as connection:
        run_on(connection)
        connection.commit()


if context.is_offline_mode():
    raise RuntimeError("offline (--sql) mode is not supported: the hub migrates a live database")
run_online()
