"""The app's database as a sync partner: one table read and written by key, and a trigger-filled change log.

``SqlTable`` reflects an existing table (any SQLAlchemy URL) and reads it by key or page by page, writes rows
in the caller's transaction, and converts incoming values to the column types in one place.

The change log (``install_change_log`` ... ``ack_changes``) is filled by database triggers so that writes by
*any* program are seen, not only those through the hub; ``hub_writes`` keeps the hub's own writes out of it
(echo suppression). SQLite and PostgreSQL are supported; the dialect details live in ``_changelog_*``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    UniqueConstraint,
    bindparam,
    delete,
    event,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import NoSuchTableError
from sqlalchemy.orm import Session
from sqlalchemy.schema import CreateIndex, CreateTable

from salesbridge.connectors import _changelog_postgres, _changelog_sqlite
from salesbridge.connectors._sql_convert import SqlConnectorError, ValueConversionError, convert_value
from salesbridge.store.db import lock_ddl
from salesbridge.store.models import UtcDateTime

__all__ = [
    "CHANGE_LOG",
    "Change",
    "SqlConnectorError",
    "SqlTable",
    "TableShapeError",
    "UpsertResult",
    "ValueConversionError",
    "ack_changes",
    "HubWrites",
    "hub_writes",
    "install_change_log",
    "read_changes",
    "uninstall_change_log",
]

#: Keys per ``IN (...)`` list: well under SQLite's and PostgreSQL's bound-parameter limits.
_CHUNK = 500
_SUPPORTED_DIALECTS = ("sqlite", "postgresql")


class TableShapeError(SqlConnectorError):
    """The table cannot be synced as it is (missing, no usable single-column key, unknown column)."""


# -- one app table ----------------------------------------------------------------------------------------


@dataclass
class UpsertResult:
    """Keys of the rows an upsert inserted and of those it updated (in input order)."""

    inserted: list[Any] = field(default_factory=list)
    updated: list[Any] = field(default_factory=list)


class SqlTable:
    """One app table, reflected, addressed by a single-column key.

    The key is the primary key unless ``key_column`` names another column, which must then be unique (an
    upsert needs a unique index to land on). Reads without a ``session`` use a short connection of their own
    per page, so that a long scan never holds locks; writes always run in the caller's session.
    """

    def __init__(self, engine: Engine, name: str, *, key_column: str | None = None,
                 schema: str | None = None) -> None:
        self.engine = engine
        self.name = name
        try:
            self.table: Table = Table(name, MetaData(), autoload_with=engine, schema=schema)
        except NoSuchTableError:
            raise TableShapeError(f"table {name!r} does not exist") from None
        self.key_column = key_column or self._primary_key_column()
        if self.key_column not in self.table.c:
            raise TableShapeError(f"table {name!r} has no column {self.key_column!r}")
        if key_column is not None and not self._is_unique(key_column, schema):
            raise TableShapeError(
                f"table {name!r}: key column {key_column!r} is neither the primary key nor unique")
        self.key: Column[Any] = self.table.c[self.key_column]

    def _primary_key_column(self) -> str:
        columns = [column.name for column in self.table.primary_key.columns]
        if not columns:
            raise TableShapeError(f"table {self.name!r} has no primary key: name a unique key column")
        if len(columns) > 1:
            raise TableShapeError(
                f"table {self.name!r} has a composite primary key ({', '.join(columns)}): only single-column "
                "keys are supported; name a unique key column")
        return columns[0]

    def _is_unique(self, column: str, schema: str | None) -> bool:
        if [c.name for c in self.table.primary_key.columns] == [column]:
            return True
        unique_sets = [[c.name for c in index.columns] for index in self.table.indexes if index.unique]
        unique_sets += [[c.name for c in constraint.columns] for constraint in self.table.constraints
                        if isinstance(constraint, UniqueConstraint)]
        if self.engine.dialect.name == "sqlite":
            # SQLAlchemy does not always parse an inline ``UNIQUE`` back (``VARCHAR(18) UNIQUE``); SQLite's own
            # automatic index for it says it plainly.
            indexes = inspect(self.engine).get_indexes(self.name, schema=schema, include_auto_indexes=True)
            unique_sets += [list(index["column_names"]) for index in indexes if index["unique"]]
        return [column] in unique_sets

    @property
    def columns(self) -> dict[str, Column[Any]]:
        """The table's columns by name (with their reflected SQLAlchemy types)."""
        return {column.name: column for column in self.table.columns}

    # -- values

    def convert(self, column: str, value: Any) -> Any:
        """``value`` converted to ``column``'s type; raises ValueConversionError naming table, column, value."""
        if column not in self.table.c:
            raise TableShapeError(f"table {self.name!r} has no column {column!r}")
        return convert_value(self.name, self.table.c[column], value)

    def convert_row(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """Every value of ``row`` converted to its column's type (unknown columns raise TableShapeError)."""
        return {column: self.convert(column, value) for column, value in row.items()}

    def coerce(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Mapped values as the table would store them and read them back (``convert_row`` plus the same
        normalisation as reads): what the engine hashes, so that a value written and the same value read later
        hash alike."""
        return self._normalised(self.convert_row(values))

    def convert_key(self, key: Any) -> Any:
        """A key as the column stores it (change-log and link keys are text)."""
        if key is None:
            raise ValueConversionError(self.name, self.key_column, key, "a key (not null)")
        return convert_value(self.name, self.key, key)

    @staticmethod
    def key_text(key: Any) -> str:
        """A key as text: the form of the change log's ``row_key``, the links' ``app_key`` and ``keys()``."""
        return str(key)

    # -- reads

    def read(self, keys: Iterable[Any], *, where: str | None = None,
             session: Session | None = None) -> dict[Any, dict[str, Any]]:
        """The rows of ``keys`` that exist (and match ``where``), keyed by the keys *as given*, so that text keys
        from the change log find their rows directly."""
        wanted: dict[Any, Any] = {}
        for key in keys:
            wanted[self.convert_key(key)] = key
        found: dict[Any, dict[str, Any]] = {}
        typed = list(wanted)
        with self._reader(session) as reader:
            for start in range(0, len(typed), _CHUNK):
                query = self._filtered(select(self.table), where).where(self.key.in_(typed[start:start + _CHUNK]))
                for row in reader.execute(query).mappings():
                    found[wanted.get(row[self.key_column], row[self.key_column])] = self._normalised(row)
        return found

    def read_one(self, session: Session | None, key: Any) -> dict[str, Any] | None:
        """One row by key, or None."""
        return self.read([key], session=session).get(key)

    def read_all(self, where: str | None = None, *, page_size: int = 1000,
                 session: Session | None = None) -> Iterator[dict[str, Any]]:
        """Every row (matching the SQL condition ``where``: trusted text from the configuration) in key order,
        fetched ``page_size`` at a time by key ranges, so that each page is a short query. Rows whose key is
        NULL are left out: nothing could address them."""
        last: Any = None
        while True:
            query = self._filtered(select(self.table), where).where(self.key.is_not(None))
            query = query.order_by(self.key).limit(page_size)
            if last is not None:
                query = query.where(self.key > last)
            with self._reader(session) as reader:
                page = [self._normalised(row) for row in reader.execute(query).mappings()]
            yield from page
            if len(page) < page_size:
                return
            last = page[-1][self.key_column]

    def keys(self, where: str | None = None, *, page_size: int = 5000,
             session: Session | None = None) -> Iterator[str]:
        """Every key (of rows matching ``where``) as text, in key order, paged like ``read_all``: the initial
        load and reconciliation against links compare these with ``app_key``."""
        last: Any = None
        while True:
            query = self._filtered(select(self.key), where).where(self.key.is_not(None))
            query = query.order_by(self.key).limit(page_size)
            if last is not None:
                query = query.where(self.key > last)
            with self._reader(session) as reader:
                page = list(reader.execute(query).scalars())
            yield from (self.key_text(key) for key in page)
            if len(page) < page_size:
                return
            last = page[-1]

    @staticmethod
    def _filtered(query: Select[Any], where: str | None) -> Select[Any]:
        return query.where(text(f"({where})")) if where else query

    def _normalised(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """Aware datetimes in UTC: PostgreSQL answers in the session's time zone, which must not change a hash."""
        return {column: value.astimezone(UTC) if isinstance(value, datetime) and value.tzinfo else value
                for column, value in row.items()}

    @contextmanager
    def _reader(self, session: Session | None) -> Iterator[Session | Connection]:
        if session is not None:
            yield session
        else:
            with self.engine.connect() as connection:
                yield connection

    # -- writes (in the caller's transaction)

    def upsert(self, session: Session, rows: Iterable[Mapping[str, Any]]) -> UpsertResult:
        """Insert rows whose key is new, update the given columns of rows whose key exists.

        Each row must hold the key; other columns are optional (an update touches only the columns given,
        which a bare ``INSERT ... ON CONFLICT`` cannot do when the table has NOT NULL columns we do not map).
        Existing keys are looked up first; the insert still says ``ON CONFLICT DO UPDATE`` so that a row
        another program inserted meanwhile is updated rather than refused.
        """
        # One entry per key (a later row's columns win): a single INSERT ... ON CONFLICT may not touch a row twice.
        merged: dict[Any, dict[str, Any]] = {}
        for row in rows:
            values = self._converted_with_key(row)
            key = values[self.key_column]
            merged[key] = {**merged[key], **values} if key in merged else values
        converted = list(merged.values())
        result = UpsertResult()
        for start in range(0, len(converted), _CHUNK):
            chunk = converted[start:start + _CHUNK]
            chunk_keys = [row[self.key_column] for row in chunk]
            existing = set(session.execute(select(self.key).where(self.key.in_(chunk_keys))).scalars())
            for columns, group in _group_by_columns(chunk):
                self._update_group(session, columns, [row for row in group if row[self.key_column] in existing])
                self._insert_group(session, columns, [row for row in group if row[self.key_column] not in existing])
            for row in chunk:
                (result.updated if row[self.key_column] in existing else result.inserted).append(row[self.key_column])
        return result

    def insert(self, session: Session, row: Mapping[str, Any]) -> Any:
        """Insert one row and return its key, generated by the database when the row has none (autoincrement,
        default or sequence): how a record new in Salesforce gets its app key."""
        values = self.convert_row(row)
        if values.get(self.key_column, "") is None:
            del values[self.key_column]
        return session.execute(insert(self.table).values(values).returning(self.key)).scalar_one()

    def update(self, session: Session, key: Any, values: Mapping[str, Any]) -> bool:
        """Update the given columns of one row; False when no row has that key."""
        changes = {column: value for column, value in self.convert_row(values).items() if column != self.key_column}
        typed = self.convert_key(key)
        if not changes:
            return session.execute(select(self.key).where(self.key == typed)).first() is not None
        return session.execute(update(self.table).where(self.key == typed).values(changes)).rowcount > 0

    def delete(self, session: Session, keys: Iterable[Any]) -> int:
        """Delete the rows of ``keys``; returns how many existed."""
        typed = list({self.convert_key(key) for key in keys})
        deleted = 0
        for start in range(0, len(typed), _CHUNK):
            deleted += session.execute(delete(self.table).where(self.key.in_(typed[start:start + _CHUNK]))).rowcount
        return deleted

    def _converted_with_key(self, row: Mapping[str, Any]) -> dict[str, Any]:
        if row.get(self.key_column) is None:
            raise ValueConversionError(self.name, self.key_column, row.get(self.key_column), "a key (not null)")
        return self.convert_row(row)

    def _update_group(self, session: Session, columns: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
        assignments = [column for column in columns if column != self.key_column]
        if not rows or not assignments:
            return
        # Bind names differ from column names: SQLAlchemy reserves those for its own SET parameters.
        binds = {column: f"_sb_value_{position}" for position, column in enumerate(assignments)}
        statement = (update(self.table).where(self.key == bindparam("_sb_key"))
                     .values({column: bindparam(bind) for column, bind in binds.items()}))
        session.execute(statement, [{**{bind: row[column] for column, bind in binds.items()},
                                     "_sb_key": row[self.key_column]} for row in rows])

    def _insert_group(self, session: Session, columns: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":
            statement: Any = postgresql.insert(self.table)
        elif dialect == "sqlite":
            statement = sqlite.insert(self.table)
        else:
            raise SqlConnectorError(f"upsert is not supported on {dialect!r}")
        assignments = {column: statement.excluded[column] for column in columns if column != self.key_column}
        if assignments:
            statement = statement.on_conflict_do_update(index_elements=[self.key], set_=assignments)
        else:
            statement = statement.on_conflict_do_nothing(index_elements=[self.key])
        session.execute(statement, rows)


def _group_by_columns(rows: Sequence[dict[str, Any]]) -> list[tuple[tuple[str, ...], list[dict[str, Any]]]]:
    """Rows grouped by their set of columns: one executemany statement per shape."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    return list(groups.items())


# -- change log -------------------------------------------------------------------------------------------

_change_log_metadata = MetaData()

#: Filled by triggers on the app tables, emptied by ``ack_changes``. Not managed by Alembic: it must exist in
#: the app's database even when the hub keeps its own tables elsewhere.
CHANGE_LOG = Table(
    "sb_change_log",
    _change_log_metadata,
    Column("id", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True),
    Column("table_name", String(255), nullable=False),
    Column("row_key", String(), nullable=False),
    Column("op", String(1), nullable=False),
    Column("changed_at", UtcDateTime(), nullable=False, server_default=text("CURRENT_TIMESTAMP")),
    Column("tx_id", BigInteger(), nullable=True),
    Index("ix_sb_change_log_table_name_id", "table_name", "id"),
    sqlite_autoincrement=True,
)


@dataclass(frozen=True)
class Change:
    """One change-log entry: ``op`` is ``I`` (insert), ``U`` (update) or ``D`` (delete) of ``row_key``."""

    id: int
    row_key: str
    op: str
    changed_at: datetime


def install_change_log(engine: Engine, table_name: str, key_column: str | None = None) -> None:
    """Create ``sb_change_log`` (if missing) and the triggers that log every insert, update and delete of
    ``table_name`` by ``key_column`` (default: the single-column primary key; otherwise a unique column).

    Idempotent: running it again replaces the triggers (e.g. after the key column changed). A key change is
    logged as ``D`` of the old key and ``I`` of the new one. Rows whose key is NULL are not logged (nothing
    could address them); the key column is checked first, since a trigger naming a missing column would make
    every write of the app fail.
    """
    key_column = SqlTable(engine, table_name, key_column=key_column).key_column
    with engine.begin() as connection:
        dialect = _dialect(connection)
        lock_ddl(connection)
        # IF NOT EXISTS: two SQLite processes installing at once must not fail on each other's table.
        connection.execute(CreateTable(CHANGE_LOG, if_not_exists=True))
        for index in CHANGE_LOG.indexes:
            connection.execute(CreateIndex(index, if_not_exists=True))
        if dialect == "sqlite":
            _changelog_sqlite.install(connection, table_name, key_column)
        else:
            _changelog_postgres.install(connection, table_name, key_column)


def uninstall_change_log(engine: Engine, table_name: str) -> None:
    """Remove ``table_name``'s triggers; its pending entries stay in the log until acknowledged."""
    with engine.begin() as connection:
        dialect = _dialect(connection)
        lock_ddl(connection)
        if dialect == "sqlite":
            _changelog_sqlite.uninstall(connection, table_name)
        else:
            _changelog_postgres.uninstall(connection, table_name)


def read_changes(session: Session, table_name: str, limit: int = 1000) -> list[Change]:
    """Up to ``limit`` pending changes of ``table_name``, oldest first (several may name the same row)."""
    query = (select(CHANGE_LOG.c.id, CHANGE_LOG.c.row_key, CHANGE_LOG.c.op, CHANGE_LOG.c.changed_at)
             .where(CHANGE_LOG.c.table_name == table_name).order_by(CHANGE_LOG.c.id).limit(limit))
    return [Change(int(row.id), row.row_key, row.op, row.changed_at) for row in session.execute(query)]


def ack_changes(session: Session, ids: Iterable[int]) -> int:
    """Delete exactly the given entries, in the caller's transaction (commit it with the writes they caused).

    Why delete rather than remember the highest id handled: on PostgreSQL a sequence value is taken when a
    row is inserted, not when its transaction commits. A transaction that took id 10 may commit after one
    that took id 11; a reader that saw 11 and stored "done up to 11" would never see 10. Deleting what was
    handled leaves every other entry, late or not, to the next read. Returns how many were deleted.
    """
    wanted = sorted(set(ids))
    deleted = 0
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start:start + _CHUNK]
        deleted += session.execute(delete(CHANGE_LOG).where(CHANGE_LOG.c.id.in_(chunk))).rowcount
    return deleted


class HubWrites:
    """Echo suppression for one transaction of one session; see ``hub_writes``."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._token = uuid.uuid4().hex
        connection = session.connection()
        self._dialect = _dialect(connection)
        if self._dialect == "sqlite":
            _changelog_sqlite.suppress(connection, self._token)
        else:
            _changelog_postgres.suppress(connection)
        self.active = True
        _session_guards(session).append(self)

    def release(self) -> None:
        """Stop suppressing (the writes so far stay unlogged); idempotent."""
        if not self.active:
            return
        self.active = False
        others = _session_guards(self._session)
        others.remove(self)
        self._session.flush()  # pending ORM writes belong to the suppressed part
        connection = self._session.connection()
        if self._dialect == "sqlite":
            _changelog_sqlite.unsuppress(connection, self._token)
        elif not others:  # one setting per transaction: an enclosing suppression keeps it
            _changelog_postgres.unsuppress(connection)

    def __enter__(self) -> HubWrites:
        return self

    def __exit__(self, error_type: type[BaseException] | None, *_: object) -> None:
        if error_type is None:
            self.release()
            return
        # The transaction is normally rolled back, which undoes the guard on its own; clean up anyway in case
        # the caller catches the error and commits, but never hide the original error.
        with suppress(Exception):
            self.release()


_GUARDS_INFO_KEY = "salesbridge.hub_writes"


def _session_guards(session: Session) -> list[HubWrites]:
    """The session's active suppressions; the first call also hooks the session's commit and rollback (once
    per session, however many transactions it runs)."""
    guards: list[HubWrites] | None = session.info.get(_GUARDS_INFO_KEY)
    if guards is None:
        guards = session.info[_GUARDS_INFO_KEY] = []
        event.listen(session, "before_commit", _release_before_commit)
        event.listen(session, "after_rollback", _forget_after_rollback)
    return guards


def _release_before_commit(session: Session) -> None:
    """Lift suppression just before the transaction commits, whoever commits it."""
    for guard in list(_session_guards(session)):
        guard.release()


def _forget_after_rollback(session: Session) -> None:
    """A rollback undid the suppression itself (setting or guard row); nothing is left to lift."""
    guards = _session_guards(session)
    for guard in guards:
        guard.active = False
    guards.clear()


def hub_writes(session: Session) -> HubWrites:
    """Keep the hub's own app-table writes in this transaction out of the change log (echo suppression).

    Call it at the start of the hub's transaction (``hub_writes(session)``): suppression lasts until that
    transaction commits or rolls back. Or use it as ``with hub_writes(session):`` to suppress only the writes
    inside the block. Only this transaction is affected: concurrent writes by other programs are still logged.

    PostgreSQL: a transaction-local setting (``set_config(..., true)``, i.e. ``SET LOCAL``), reset by commit
    and rollback alike. SQLite: a guard row inserted now and deleted just before the commit; SQLite's single
    writer lock means no other program can write meanwhile, and a rollback (crash) removes the row with the
    rest, so nothing is ever left suppressing. Writes made after a commit inside the same session are logged
    again (a logged echo is dropped by the engine's hash check; a silenced change would be lost).
    """
    return HubWrites(session)


def _dialect(connection: Connection) -> str:
    name = connection.dialect.name
    if name not in _SUPPORTED_DIALECTS:
        raise SqlConnectorError(f"the change log supports SQLite and PostgreSQL, not {name!r}")
    return name
