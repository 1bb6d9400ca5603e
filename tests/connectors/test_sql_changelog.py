"""The trigger-filled change log: every program's writes are logged, the hub's own are not, and
acknowledging deletes exactly what was handled. Every test runs on SQLite and PostgreSQL unless its name says
otherwise."""

from __future__ import annotations

import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from salesbridge.connectors.sql import (
    CHANGE_LOG,
    SqlTable,
    TableShapeError,
    ack_changes,
    hub_writes,
    install_change_log,
    read_changes,
    uninstall_change_log,
)
from salesbridge.store.db import open_store

if TYPE_CHECKING:
    from tests.connectors.conftest import Database


@pytest.fixture
def leads(engine: Engine) -> SqlTable:
    with engine.begin() as connection:
        connection.execute(text(
            "CREATE TABLE leads (id INTEGER PRIMARY KEY, last_name VARCHAR(40) NOT NULL, company VARCHAR(80))"))
    install_change_log(engine, "leads", "id")
    return SqlTable(engine, "leads")


def changes(engine: Engine, table: str = "leads") -> list[tuple[str, str]]:
    with Session(engine) as session:
        return [(change.row_key, change.op) for change in read_changes(session, table)]


def test_inserts_updates_and_deletes_by_a_plain_connection_are_logged(engine: Engine, leads: SqlTable) -> None:
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO leads (id, last_name) VALUES (1, 'Ada'), (2, 'Bob')"))
        connection.execute(text("UPDATE leads SET company = 'Acme' WHERE id = 2"))
        connection.execute(text("DELETE FROM leads WHERE id = 1"))
    assert changes(engine) == [("1", "I"), ("2", "I"), ("2", "U"), ("1", "D")]
    with Session(engine) as session:
        entries = read_changes(session, "leads")
    assert [entry.id for entry in entries] == sorted(entry.id for entry in entries)
    assert all(entry.changed_at.tzinfo is not None for entry in entries)


def test_writes_by_another_program_are_logged(database: Database, engine: Engine, leads: SqlTable) -> None:
    """The triggers live in the database: a program that knows nothing of the hub is seen too (on
    PostgreSQL with the server's default search_path, reaching the table by its qualified name)."""
    raw = database.raw_connect()
    try:
        table = database.qualified("leads")
        cursor = raw.cursor()
        cursor.execute(f"INSERT INTO {table} (id, last_name) VALUES (7, 'Raw')")
        cursor.execute(f"UPDATE {table} SET last_name = 'Raw 2' WHERE id = 7")
        cursor.execute(f"DELETE FROM {table} WHERE id = 7")
        raw.commit()
    finally:
        raw.close()
    assert changes(engine) == [("7", "I"), ("7", "U"), ("7", "D")]


def test_a_changed_key_is_a_delete_of_the_old_and_an_insert_of_the_new(engine: Engine, leads: SqlTable) -> None:
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO leads (id, last_name) VALUES (1, 'Ada')"))
        connection.execute(text("UPDATE leads SET id = 10 WHERE id = 1"))
    assert changes(engine) == [("1", "I"), ("1", "D"), ("10", "I")]


def test_text_keys_are_logged_as_they_are(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE accounts (code VARCHAR(20) PRIMARY KEY, name VARCHAR(40))"))
        connection.execute(text("INSERT INTO accounts VALUES ('before', 'not logged')"))
    install_change_log(engine, "accounts", "code")
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO accounts VALUES ('007', 'Bond'), ('it''s', 'quoted')"))
    assert changes(engine, "accounts") == [("007", "I"), ("it's", "I")]


def test_each_table_reads_only_its_own_changes(engine: Engine, leads: SqlTable) -> None:
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))
    install_change_log(engine, "notes", "id")
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO notes (id, body) VALUES (5, 'x')"))
        connection.execute(text("INSERT INTO leads (id, last_name) VALUES (1, 'Ada'), (2, 'Bob'), (3, 'Cy')"))
    assert changes(engine, "notes") == [("5", "I")]
    with Session(engine) as session:
        assert [c.row_key for c in read_changes(session, "leads", limit=2)] == ["1", "2"]


def test_ack_deletes_exactly_the_acknowledged_entries(engine: Engine, leads: SqlTable) -> None:
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO leads (id, last_name) VALUES (1, 'Ada'), (2, 'Bob'), (3, 'Cy')"))
    with Session(engine) as session, session.begin():
        first, second, third = read_changes(session, "leads")
        assert ack_changes(session, [first.id, third.id, third.id, 999_999]) == 2
        assert ack_changes(session, []) == 0
    with Session(engine) as session:
        assert read_changes(session, "leads") == [second]


def test_an_ack_rolled_back_with_its_transaction_keeps_the_entries(engine: Engine, leads: SqlTable) -> None:
    """A crash after the ack but before the commit loses nothing: the entries come back on the next read."""
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO leads (id, last_name) VALUES (1, 'Ada')"))
    with Session(engine) as session:
        ack_changes(session, [change.id for change in read_changes(session, "leads")])
        session.rollback()
    assert changes(engine) == [("1", "I")]


def test_the_hubs_own_writes_are_not_logged(engine: Engine, leads: SqlTable) -> None:
    with Session(engine) as session, session.begin():
        hub_writes(session)  # for the rest of this transaction
        leads.upsert(session, [{"id": 1, "last_name": "Ada"}, {"id": 2, "last_name": "Bob"}])
        leads.update(session, 1, {"company": "Acme"})
        leads.delete(session, [2])
        leads.insert(session, {"id": 3, "last_name": "Cy"})
    assert changes(engine) == []
    # The next transaction is an ordinary one again.
    with Session(engine) as session, session.begin():
        leads.update(session, 1, {"company": "Acme 2"})
    assert changes(engine) == [("1", "U")]


def test_hub_writes_as_a_block_suppresses_only_the_block(engine: Engine, leads: SqlTable) -> None:
    with Session(engine) as session, session.begin():
        with hub_writes(session):
            leads.upsert(session, [{"id": 1, "last_name": "Ada"}])
        leads.upsert(session, [{"id": 2, "last_name": "Bob"}])
    assert changes(engine) == [("2", "I")]


def test_committing_inside_a_hub_block_never_silences_later_writes(engine: Engine, leads: SqlTable) -> None:
    """Misuse fails safe: the suppression ends with the commit, so later writes are logged (an echo the engine
    drops by hash), and nothing is left suppressing other programs."""
    with Session(engine) as session, hub_writes(session):
        leads.upsert(session, [{"id": 1, "last_name": "Ada"}])
        session.commit()
        leads.upsert(session, [{"id": 2, "last_name": "Bob"}])
        session.commit()
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO leads (id, last_name) VALUES (3, 'Other program')"))
    assert changes(engine) == [("2", "I"), ("3", "I")]


def test_after_a_rolled_back_hub_transaction_nothing_is_left_suppressing(engine: Engine, leads: SqlTable) -> None:
    with Session(engine) as session:
        hub_writes(session)
        leads.upsert(session, [{"id": 1, "last_name": "Ada"}])
        session.rollback()  # what a crash amounts to
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO leads (id, last_name) VALUES (2, 'Bob')"))
    assert changes(engine) == [("2", "I")]


def test_an_error_inside_a_hub_block_leaves_nothing_behind(engine: Engine, leads: SqlTable) -> None:
    with Session(engine) as session:
        with pytest.raises(RuntimeError), hub_writes(session):
            leads.upsert(session, [{"id": 1, "last_name": "Ada"}])
            raise RuntimeError("boom")
        session.commit()  # the caller carries on regardless
        leads.upsert(session, [{"id": 2, "last_name": "Bob"}])
        session.commit()
    assert changes(engine) == [("2", "I")]


def test_a_hub_process_killed_mid_transaction_leaves_nothing_suppressing(database: Database, engine: Engine,
                                                                         leads: SqlTable) -> None:
    """The connection dies without commit or rollback (process killed): the database discards the
    transaction, suppression included."""
    victim = open_store(database.url)
    session = Session(victim)
    hub_writes(session)
    leads.upsert(session, [{"id": 1, "last_name": "Ada"}])
    raw = session.connection().connection.dbapi_connection
    assert raw is not None
    raw.close()  # no commit, no rollback
    victim.dispose()
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO leads (id, last_name) VALUES (2, 'Bob')"))
    assert changes(engine) == [("2", "I")]
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(leads.table)).scalar_one() == 1


def test_postgresql_logs_a_concurrent_write_during_a_hub_transaction(postgres_database: Database) -> None:
    """While the hub's transaction is open (suppressing), another program commits a write: it is logged;
    the hub's own write is not."""
    engine = open_store(postgres_database.url)
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE leads (id INTEGER PRIMARY KEY, last_name VARCHAR(40))"))
        install_change_log(engine, "leads", "id")
        leads = SqlTable(engine, "leads")
        with Session(engine) as session, session.begin():
            hub_writes(session)
            leads.upsert(session, [{"id": 1, "last_name": "hub"}])
            other = postgres_database.raw_connect()
            try:
                other.execute(f"INSERT INTO {postgres_database.qualified('leads')} VALUES (2, 'other program')")
                other.commit()
            finally:
                other.close()
            leads.upsert(session, [{"id": 3, "last_name": "hub again"}])
        assert changes(engine) == [("2", "I")]
    finally:
        engine.dispose()


def test_sqlite_no_other_program_can_write_during_a_hub_transaction(sqlite_database: Database) -> None:
    """SQLite's guard is sound because the hub's transaction holds the only write lock: another writer
    cannot slip in (it waits; here it is refused at once), and once the hub commits its write is logged."""
    engine = open_store(sqlite_database.url)
    other = sqlite3.connect(sqlite_database.path, timeout=0)
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE leads (id INTEGER PRIMARY KEY, last_name VARCHAR(40))"))
        install_change_log(engine, "leads", "id")
        leads = SqlTable(engine, "leads")
        with Session(engine) as session, session.begin():
            hub_writes(session)
            leads.upsert(session, [{"id": 1, "last_name": "hub"}])
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("INSERT INTO leads (id, last_name) VALUES (2, 'other')")
            other.rollback()
        other.execute("INSERT INTO leads (id, last_name) VALUES (2, 'other')")
        other.commit()
        assert changes(engine) == [("2", "I")]
    finally:
        other.close()
        engine.dispose()


def test_postgresql_entries_committed_out_of_id_order_are_not_lost(postgres_database: Database) -> None:
    """Transaction A takes a log id first but commits last. A reader that handled B's later id and kept
    "done up to id N" would skip A's entry forever; deleting handled entries does not."""
    engine = open_store(postgres_database.url)
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE leads (id INTEGER PRIMARY KEY, last_name VARCHAR(40))"))
        install_change_log(engine, "leads", "id")
        slow = engine.connect()
        slow.begin()
        slow.execute(text("INSERT INTO leads VALUES (1, 'slow')"))  # takes the lower id, not committed yet
        with engine.begin() as fast:
            fast.execute(text("INSERT INTO leads VALUES (2, 'fast')"))
        with Session(engine) as session, session.begin():
            seen = read_changes(session, "leads")
            assert [c.row_key for c in seen] == ["2"]
            ack_changes(session, [c.id for c in seen])
        slow.commit()
        slow.close()
        with Session(engine) as session:
            late = read_changes(session, "leads")
        assert [c.row_key for c in late] == ["1"]
        assert late[0].id < seen[0].id
    finally:
        engine.dispose()


def test_install_is_idempotent_and_uninstall_stops_logging(engine: Engine, leads: SqlTable) -> None:
    install_change_log(engine, "leads", "id")
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO leads (id, last_name) VALUES (1, 'Ada')"))
    assert changes(engine) == [("1", "I")]  # one entry, not one per install
    uninstall_change_log(engine, "leads")
    uninstall_change_log(engine, "leads")
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO leads (id, last_name) VALUES (2, 'Bob')"))
    assert changes(engine) == [("1", "I")]  # pending entries stay until acknowledged


def test_installs_racing_from_several_workers_all_succeed(database: Database, engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE leads (id INTEGER PRIMARY KEY, last_name VARCHAR(40))"))
    engines = [open_store(database.url) for _ in range(4)]
    start = threading.Barrier(len(engines))

    def install(worker: Engine) -> None:
        start.wait()
        install_change_log(worker, "leads", "id")

    try:
        with ThreadPoolExecutor(len(engines)) as pool:
            list(pool.map(install, engines))
    finally:
        for worker in engines:
            worker.dispose()
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO leads (id, last_name) VALUES (1, 'Ada')"))
    assert changes(engine) == [("1", "I")]


def test_sqlite_a_stale_guard_row_is_cleared_by_the_next_install(sqlite_database: Database) -> None:
    """A committed guard row (only possible through a bug or manual meddling) would silence every program;
    any committed one is stale by definition, and install removes it. (PostgreSQL keeps no guard rows.)"""
    engine = open_store(sqlite_database.url)
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE leads (id INTEGER PRIMARY KEY, last_name VARCHAR(40))"))
        install_change_log(engine, "leads", "id")
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO sb_write_guard (token, started_at) VALUES ('stale', 'then')"))
        install_change_log(engine, "leads", "id")
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO leads (id, last_name) VALUES (1, 'Ada')"))
        assert changes(engine) == [("1", "I")]
    finally:
        engine.dispose()


def test_the_change_log_is_an_ordinary_table(engine: Engine, leads: SqlTable) -> None:
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO leads (id, last_name) VALUES (1, 'Ada')"))
    with engine.connect() as connection:
        (tx_id,) = connection.execute(select(CHANGE_LOG.c.tx_id)).one()
    assert (tx_id is None) == (engine.dialect.name == "sqlite")


def test_rows_without_a_key_are_not_logged_and_their_writes_still_succeed(engine: Engine) -> None:
    """Keyed by a nullable unique column (e.g. the Salesforce Id the app keeps): a row that has none yet
    cannot be addressed, so it is not logged, and the app's write must not fail because of the trigger."""
    with engine.begin() as connection:
        connection.execute(text(
            "CREATE TABLE contacts (id INTEGER PRIMARY KEY, sf_id VARCHAR(18) UNIQUE, name VARCHAR(40))"))
    install_change_log(engine, "contacts", "sf_id")
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO contacts (id, name) VALUES (1, 'no id yet')"))
        connection.execute(text("UPDATE contacts SET sf_id = '003000000000001AAA' WHERE id = 1"))
        connection.execute(text("UPDATE contacts SET sf_id = NULL WHERE id = 1"))
        connection.execute(text("DELETE FROM contacts WHERE id = 1"))
    assert changes(engine, "contacts") == [("003000000000001AAA", "I"), ("003000000000001AAA", "D")]
    assert list(SqlTable(engine, "contacts", key_column="sf_id").keys()) == []


def test_install_checks_the_key_column_first(engine: Engine, leads: SqlTable) -> None:
    """A trigger naming a missing column would make every write of the app fail: refuse to install it."""
    with pytest.raises(TableShapeError, match="no column 'lead_id'"):
        install_change_log(engine, "leads", "lead_id")
    with pytest.raises(TableShapeError, match="'nothing' does not exist"):
        install_change_log(engine, "nothing")
    install_change_log(engine, "leads")  # the primary key by default
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO leads (id, last_name) VALUES (1, 'Ada')"))
    assert changes(engine) == [("1", "I")]


def test_a_block_inside_a_suppressed_transaction_keeps_it_suppressed(engine: Engine, leads: SqlTable) -> None:
    with Session(engine) as session, session.begin():
        hub_writes(session)
        with hub_writes(session):
            leads.upsert(session, [{"id": 1, "last_name": "Ada"}])
        leads.upsert(session, [{"id": 2, "last_name": "Bob"}])
    assert changes(engine) == []
