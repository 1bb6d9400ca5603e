"""The hub's own tables: links, watermarks, runs, record errors, conflicts and lifecycle events.

They live in the app's database by default (every name starts with ``sb_``) so that an app write, the link that
records it, the watermark that covers it and the change-log acknowledgement commit in one transaction: a crash
then leaves either all of them or none. The models are portable across SQLite and PostgreSQL: ids are BIGINT on
PostgreSQL and ``INTEGER PRIMARY KEY`` (rowid) on SQLite, JSON goes through :class:`JsonValue`, timestamps
through :class:`UtcDateTime`.

Statuses and kinds are plain strings checked in Python (the enums below) rather than database CHECK
constraints, so that a new status needs no table rebuild on SQLite.
"""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, date, datetime, time
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    PostgreSQL keeps ``timestamptz``; SQLite has no time zones, so the value is stored as naive UTC and made
    aware again on load. Naive datetimes handed in are refused: guessing their zone is how times drift.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the hub stores aware UTC datetimes only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def jsonable(value: Any) -> Any:
    """``value`` with dates, decimals, ids and bytes turned into JSON text (recursively).

    Payloads and conflict values come from app rows, which hold ``Decimal`` and ``date`` values that ``json``
    refuses; converting here keeps every caller from having to remember it.
    """
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(item) for item in value]
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, uuid.UUID):
        return str(value)
    return str(value)


class JsonValue(TypeDecorator[Any]):
    """``sqlalchemy.JSON`` that accepts app values (``Decimal``, ``date``...) by converting them to text."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return jsonable(value)


#: ids: BIGINT on PostgreSQL, but exactly INTEGER on SQLite, where only that is an autoincrementing rowid.
IdType = BigInteger().with_variant(Integer(), "sqlite")

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of the hub's tables (and only those: Alembic compares this metadata)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class RunStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    PARTIAL = "partial"
    STOPPED = "stopped"
    #: The process running it died (found by ``sweep_interrupted_runs``); its records are retried by later runs.
    INTERRUPTED = "interrupted"


class RunTrigger(StrEnum):
    MANUAL = "manual"
    SCHEDULE = "schedule"
    EVENT = "event"
    CHAIN = "chain"
    RETRY = "retry"


class SyncDirection(StrEnum):
    TO_SALESFORCE = "to_salesforce"
    FROM_SALESFORCE = "from_salesforce"


class Operation(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    UPSERT = "upsert"
    DELETE = "delete"
    #: A Lead the hub converted (``conversion.when``): its retry converts it again.
    CONVERT = "convert"


class ErrorStatus(StrEnum):
    OPEN = "open"
    RETRYING = "retrying"
    RESOLVED = "resolved"
    IGNORED = "ignored"


class Winner(StrEnum):
    SALESFORCE = "salesforce"
    APP = "app"


class EventKind(StrEnum):
    """Lifecycle events the hub knows of; ``sb_events.kind`` also accepts other names (rules may add some)."""

    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    CONVERTED = "converted"
    WON = "won"
    LOST = "lost"
    OWNER_CHANGED = "owner_changed"


class Link(Base):
    """One record's twin: an app key and a Salesforce Id within a flow, with what was last synced.

    ``app_hash``/``sf_hash`` are digests of the mapped values last written or read on each side: a change
    whose hash equals them is the hub's own write coming back (an echo) or a no-op. ``deleted`` is a
    tombstone: the link is kept so that an older update arriving late cannot bring the record back.
    """

    __tablename__ = "sb_links"
    __table_args__ = (
        UniqueConstraint("flow", "app_key"),
        UniqueConstraint("flow", "sf_id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    flow: Mapped[str] = mapped_column(String(100))
    app_key: Mapped[str] = mapped_column(String(255))
    sf_id: Mapped[str | None] = mapped_column(String(18))
    sf_object: Mapped[str] = mapped_column(String(100))
    sf_modstamp: Mapped[str | None] = mapped_column(String(40))
    app_hash: Mapped[str | None] = mapped_column(String(128))
    sf_hash: Mapped[str | None] = mapped_column(String(128))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class Watermark(Base):
    """How far one flow has read one source (e.g. ``sf_modstamp``); moved only after what it covers commits."""

    __tablename__ = "sb_watermarks"

    flow: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class Run(Base):
    """One execution of one or more flows, whatever started it."""

    __tablename__ = "sb_runs"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(20), default=RunStatus.RUNNING.value)
    trigger: Mapped[str] = mapped_column(String(20))
    flows: Mapped[list[str]] = mapped_column(JsonValue, default=list)
    api_calls: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    #: The run whose writes or events started this one (event and chain runs), for the visible chain. Not a
    #: foreign key: SQLite could only add one by rebuilding this table, and a pruned parent is harmless here.
    parent_run_id: Mapped[int | None] = mapped_column(IdType, index=True)
    #: Why it ran: ``{"path": [flows], "rules": [...], "events": [...]}`` (the path is the loop guard).
    cause: Mapped[dict[str, Any] | None] = mapped_column(JsonValue, nullable=True)
    #: When the event loop handled this finished run's events (NULL: not yet).
    events_handled_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    #: ``host:pid`` of the process running it: a run still ``running`` whose process is gone was interrupted.
    owner: Mapped[str | None] = mapped_column(String(120))


class RunFlow(Base):
    """Counts of one flow within one run (added up over the run's batches)."""

    __tablename__ = "sb_run_flows"

    run_id: Mapped[int] = mapped_column(IdType, ForeignKey("sb_runs.id", ondelete="CASCADE"), primary_key=True)
    flow: Mapped[str] = mapped_column(String(100), primary_key=True)
    records_read: Mapped[int] = mapped_column(Integer, default=0)
    records_written: Mapped[int] = mapped_column(Integer, default=0)
    records_failed: Mapped[int] = mapped_column(Integer, default=0)
    conflicts: Mapped[int] = mapped_column(Integer, default=0)
    api_calls: Mapped[int] = mapped_column(Integer, default=0)
    deletes: Mapped[int] = mapped_column(Integer, default=0)
    details: Mapped[dict[str, Any]] = mapped_column(JsonValue, default=dict)


class RecordError(Base):
    """A record one side refused (or that could not be mapped), kept with its payload so a person can fix it.

    ``run_id`` is set NULL when old runs are pruned: an open error outlives the run that found it.
    """

    __tablename__ = "sb_record_errors"
    __table_args__ = (
        Index(None, "status", "flow"),
        Index(None, "flow", "app_key"),
        Index(None, "flow", "sf_id"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    run_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("sb_runs.id", ondelete="SET NULL"))
    flow: Mapped[str] = mapped_column(String(100))
    direction: Mapped[str] = mapped_column(String(20))
    operation: Mapped[str] = mapped_column(String(20))
    app_key: Mapped[str | None] = mapped_column(String(255))
    sf_id: Mapped[str | None] = mapped_column(String(18))
    error_code: Mapped[str] = mapped_column(String(100))
    message: Mapped[str] = mapped_column(Text)
    fields: Mapped[list[str]] = mapped_column(JsonValue, default=list)
    payload: Mapped[Any] = mapped_column(JsonValue, nullable=True)
    status: Mapped[str] = mapped_column(String(20), default=ErrorStatus.OPEN.value)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class Conflict(Base):
    """Both sides changed one record since the last sync; both versions are kept for the run log."""

    __tablename__ = "sb_conflicts"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    run_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("sb_runs.id", ondelete="CASCADE"), index=True)
    flow: Mapped[str] = mapped_column(String(100))
    app_key: Mapped[str | None] = mapped_column(String(255))
    sf_id: Mapped[str | None] = mapped_column(String(18))
    policy: Mapped[str] = mapped_column(String(40))
    winner: Mapped[str] = mapped_column(String(20))
    sf_values: Mapped[dict[str, Any]] = mapped_column(JsonValue, default=dict)
    app_values: Mapped[dict[str, Any]] = mapped_column(JsonValue, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Event(Base):
    """A lifecycle event (created, won, converted...) that event rules and chains react to, in id order."""

    __tablename__ = "sb_events"
    __table_args__ = (Index(None, "flow", "kind"), Index(None, "flow", "app_key"))

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    run_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("sb_runs.id", ondelete="SET NULL"), index=True)
    flow: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(40))
    app_key: Mapped[str | None] = mapped_column(String(255))
    sf_id: Mapped[str | None] = mapped_column(String(18))
    details: Mapped[dict[str, Any]] = mapped_column(JsonValue, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Lease(Base):
    """A named lease one process holds on the hub database (``scheduler``: the one ``salesbridge run``).

    ``owner`` is ``host:pid:token``; ``renewed_at`` moves while the holder lives. A lease whose holder stopped
    renewing for its time-to-live, or whose process on this host is gone, may be taken over.
    """

    __tablename__ = "sb_leases"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    owner: Mapped[str] = mapped_column(String(160))
    acquired_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    renewed_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Schedule(Base):
    """A flow's schedule as last seen by the scheduler, so that next and last run times survive restarts.

    ``spec`` is the schedule's text from the configuration: while it is unchanged the stored ``next_run_at`` is
    kept (a run missed while the hub was down is then due at start), and when it changes the next run is
    computed afresh.
    """

    __tablename__ = "sb_schedules"

    flow: Mapped[str] = mapped_column(String(100), primary_key=True)
    spec: Mapped[str] = mapped_column(String(255))
    next_run_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_run_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_run_id: Mapped[int | None] = mapped_column(IdType, ForeignKey("sb_runs.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
