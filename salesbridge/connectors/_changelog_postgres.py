"""PostgreSQL change-log trigger and echo suppression.

One plpgsql function, shared by every logged table, appends to ``sb_change_log``; each table gets one row
trigger passing its key column and name. Both the function and the log are schema-qualified at install time,
so that a program connecting with another ``search_path`` still logs to the right place.

Echo suppression is a transaction-local setting: the hub runs ``set_config('salesbridge.origin', 'hub',
true)`` (``SET LOCAL``) in its transaction, and the function skips rows while it is set. PostgreSQL resets it
when that transaction commits or rolls back, and no other session ever sees it, so a concurrent write by any
other program is logged and nothing can be left suppressing after a crash. (A guard-table row would work too,
but it costs a write per transaction and, if ever committed by mistake, would silence every program.)
"""

from __future__ import annotations

from sqlalchemy import Connection, text

ORIGIN_SETTING = "salesbridge.origin"
FUNCTION_NAME = "sb_change_log_capture"
TRIGGER_NAME = "sb_change_log"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def install(connection: Connection, table_name: str, key_column: str) -> None:
    """(Re)create the shared capture function and ``table_name``'s trigger in the current schema."""
    schema = connection.execute(text("SELECT current_schema()")).scalar_one()
    log = f"{_quote(schema)}.sb_change_log"
    function = f"{_quote(schema)}.{FUNCTION_NAME}"
    # Keys are read through to_jsonb so that one function serves every table and key column: ->> gives the
    # key as text (integers and uuids as they print), which is what row_key holds.
    connection.execute(text(f"""
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $body$
DECLARE
    new_key text;
    old_key text;
BEGIN
    IF current_setting('{ORIGIN_SETTING}', true) = 'hub' THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        new_key := to_jsonb(NEW) ->> TG_ARGV[0];
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        old_key := to_jsonb(OLD) ->> TG_ARGV[0];
    END IF;
    -- Rows without a key cannot be addressed: they are not logged (and must never make the write fail).
    IF old_key IS DISTINCT FROM new_key AND old_key IS NOT NULL THEN
        -- A delete, or a changed key: the old key is gone.
        INSERT INTO {log} (table_name, row_key, op, changed_at, tx_id)
            VALUES (TG_ARGV[1], old_key, 'D', clock_timestamp(), txid_current());
    END IF;
    IF new_key IS NOT NULL THEN
        INSERT INTO {log} (table_name, row_key, op, changed_at, tx_id)
            VALUES (TG_ARGV[1], new_key, CASE WHEN TG_OP = 'UPDATE' AND old_key = new_key THEN 'U' ELSE 'I' END,
                    clock_timestamp(), txid_current());
    END IF;
    RETURN NULL;
END
$body$"""))
    table = f"{_quote(schema)}.{_quote(table_name)}"
    connection.execute(text(f"DROP TRIGGER IF EXISTS {TRIGGER_NAME} ON {table}"))
    connection.execute(text(
        f"CREATE TRIGGER {TRIGGER_NAME} AFTER INSERT OR UPDATE OR DELETE ON {table} FOR EACH ROW "
        f"EXECUTE FUNCTION {function}({_literal(key_column)}, {_literal(table_name)})"
    ))


def uninstall(connection: Connection, table_name: str) -> None:
    schema = connection.execute(text("SELECT current_schema()")).scalar_one()
    connection.execute(text(f"DROP TRIGGER IF EXISTS {TRIGGER_NAME} ON {_quote(schema)}.{_quote(table_name)}"))


def suppress(connection: Connection) -> None:
    connection.execute(text("SELECT set_config(:name, 'hub', true)"), {"name": ORIGIN_SETTING})


def unsuppress(connection: Connection) -> None:
    connection.execute(text("SELECT set_config(:name, '', true)"), {"name": ORIGIN_SETTING})
