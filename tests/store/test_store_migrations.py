"""The hub's tables come from the packaged Alembic migrations, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from salesbridge.store.db import VERSION_TABLE, alembic_config, current_revision, migrate, open_store
from salesbridge.store.models import Base

HUB_TABLES = {"sb_links", "sb_watermarks", "sb_runs", "sb_run_flows", "sb_record_errors", "sb_conflicts",
              "sb_events"}


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def test_migrate_creates_every_hub_table_and_records_its_version(engine: Engine) -> None:
    assert current_revision(engine) is None
    migrate(engine)
    tables = set(inspect(engine).get_table_names())
    assert tables >= HUB_TABLES
    assert VERSION_TABLE in tables
    assert current_revision(engine) == head_revision()


def test_migrate_twice_changes_nothing(engine: Engine) -> None:
    migrate(engine)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO sb_watermarks (flow, name, value, updated_at) "
                                "VALUES ('leads', 'sf_modstamp', 'x', CURRENT_TIMESTAMP)"))
    migrate(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT value FROM sb_watermarks")).scalars().all() == ["x"]
        assert connection.execute(text(f"SELECT count(*) FROM {VERSION_TABLE}")).scalar_one() == 1


def test_the_migrations_build_exactly_what_the_models_describe(engine: Engine) -> None:
    """Autogenerate finds nothing to do: models and migrations agree (types, indexes, constraints)."""
    migrate(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={
            "compare_type": True,
            "include_object": lambda obj, name, type_, reflected, other: (
                type_ != "table" or name in Base.metadata.tables),
        })
        assert compare_metadata(context, Base.metadata) == []


def test_the_apps_own_alembic_version_table_is_left_alone(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)"))
        connection.execute(text("INSERT INTO alembic_version VALUES ('app_rev_7')"))
    migrate(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == ["app_rev_7"]


def _migrate_in_this_process(url: str) -> str | None:
    engine = open_store(url)
    try:
        migrate(engine)
        return current_revision(engine)
    finally:
        engine.dispose()


def test_processes_starting_at_once_migrate_once(db_url: str) -> None:
    """Several worker processes calling migrate at the same moment all succeed: DDL is serialised by a lock
    (advisory lock on PostgreSQL, BEGIN IMMEDIATE on SQLite), so none finds a half-made schema."""
    with ProcessPoolExecutor(4, mp_context=multiprocessing.get_context("spawn")) as pool:
        revisions = list(pool.map(_migrate_in_this_process, [db_url] * 4))
    assert revisions == [head_revision()] * 4
    engine = open_store(db_url)
    try:
        with engine.connect() as connection:
            assert connection.execute(text(f"SELECT count(*) FROM {VERSION_TABLE}")).scalar_one() == 1
    finally:
        engine.dispose()


def test_threads_of_one_process_can_migrate_at_once(db_url: str) -> None:
    engines = [open_store(db_url) for _ in range(3)]
    try:
        with ThreadPoolExecutor(len(engines)) as pool:
            list(pool.map(migrate, engines))
        assert current_revision(engines[0]) == head_revision()
    finally:
        for engine in engines:
            engine.dispose()


def test_sqlite_store_is_tuned_for_several_processes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = open_store(f"sqlite:///{tmp_path / 'hub.db'}")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar_one() >= 1000
    finally:
        engine.dispose()
