"""SQLite change-log triggers and echo suppression.

Three triggers per table (SQLite has one event per trigger) append to ``sb_change_log``, unless a row exists
in ``sb_write_guard``. The hub inserts that row at the start of its own transaction and deletes it before
committing. That suppresses exactly the hub's writes because SQLite has one writer at a time: while the hub's
transaction holds the write lock nobody else can write, and the guard row is never committed (insert and delete
commit together, or roll back together after a crash). Other programs need nothing from us: the triggers are
plain SQL stored in the database file.

A user-defined SQL function would be simpler but would break every other program that writes the table
(``no such function``); a guard table works for all of them.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

GUARD_TABLE = "sb_write_guard"
_OPS = ("insert", "update", "delete")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def trigger_names(table_name: str) -> list[str]:
    return [f"sb_change_log_{table_name}_{op}" for op in _OPS]


def install(connection: Connection, table_name: str, key_column: str) -> None:
    """(Re)create the guard table and the three triggers of ``table_name`` (idempotent)."""
    connection.execute(text(
        f"CREATE TABLE IF NOT EXISTS {GUARD_TABLE} (token TEXT PRIMARY KEY, started_at TEXT NOT NULL)"
    ))
    # Any committed guard row is stale (a hub transaction never commits its own); clearing is always safe.
    connection.execute(text(f"DELETE FROM {GUARD_TABLE}"))
    table, key, name = _quote(table_name), _quote(key_column), _literal(table_name)
    now = "strftime('%Y-%m-%d %H:%M:%f', 'now')"
    guard = f"WHEN NOT EXISTS (SELECT 1 FROM {GUARD_TABLE})"
    log = "INSERT INTO sb_change_log (table_name, row_key, op, changed_at)"
    bodies = {
        "insert": f"{log} SELECT {name}, CAST(NEW.{key} AS TEXT), 'I', {now} WHERE NEW.{key} IS NOT NULL;",
        # A changed key is a delete of the old row and an insert of the new one.
        "update": (
            f"{log} SELECT {name}, CAST(OLD.{key} AS TEXT), 'D', {now}\n"
            f"    WHERE OLD.{key} IS NOT NEW.{key} AND OLD.{key} IS NOT NULL;\n"
            f"  {log} SELECT {name}, CAST(NEW.{key} AS TEXT),"
            f" CASE WHEN OLD.{key} IS NOT NEW.{key} THEN 'I' ELSE 'U' END, {now} WHERE NEW.{key} IS NOT NULL;"
        ),
        "delete": f"{log} SELECT {name}, CAST(OLD.{key} AS TEXT), 'D', {now} WHERE OLD.{key} IS NOT NULL;",
    }
    for op, trigger in zip(_OPS, trigger_names(table_name), strict=True):
        connection.execute(text(f"DROP TRIGGER IF EXISTS {_quote(trigger)}"))
        connection.execute(text(
            f"CREATE TRIGGER {_quote(trigger)} AFTER {op.upper()} ON {table} {guard}\n"
            f"BEGIN\n  {bodies[op]}\nEND"
        ))


def uninstall(connection: Connection, table_name: str) -> None:
    for trigger in trigger_names(table_name):
        connection.execute(text(f"DROP TRIGGER IF EXISTS {_quote(trigger)}"))


def suppress(connection: Connection, token: str) -> None:
    connection.execute(
        text(f"INSERT INTO {GUARD_TABLE} (token, started_at) VALUES (:token, strftime('%Y-%m-%d %H:%M:%f', 'now'))"),
        {"token": token},
    )


def unsuppress(connection: Connection, token: str) -> None:
    connection.execute(text(f"DELETE FROM {GUARD_TABLE} WHERE token = :token"), {"token": token})
