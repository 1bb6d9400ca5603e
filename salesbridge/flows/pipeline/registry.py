"""The lead/pipeline tool's tables: companies, contacts and leads, written as the tool writes them.

Every write here is an ordinary write of the tool (the change log sees it and the pipeline flows send it);
reads add each row's Salesforce twin from the hub's links, so the page and the API show where a record lives
(a won lead follows the Contact its Lead became).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    cast,
    delete,
    insert,
    select,
    update,
)

from salesbridge.flows.pipeline.recipe import (
    FLOW_COMPANIES,
    FLOW_CONTACTS,
    FLOW_LEADS,
    FLOWS,
    STAGES,
    TABLE_COMPANIES,
    TABLE_CONTACTS,
    TABLE_LEADS,
)
from salesbridge.store.models import ErrorStatus, Event, Link, RecordError

Kind = Literal["companies", "contacts", "leads"]
_ID = BigInteger().with_variant(Integer(), "sqlite")
_META = MetaData()


def _stamps() -> tuple[Column[Any], Column[Any]]:
    return Column("created_at", DateTime(timezone=True)), Column("updated_at", DateTime(timezone=True))


#: The tables as migration 0008 makes them, typed, so that values bind alike on SQLite and PostgreSQL.
COMPANIES = Table(TABLE_COMPANIES, _META, Column("id", _ID, primary_key=True), Column("name", String(255)),
                  Column("website", String(255)), Column("phone", String(40)), Column("sf_id", String(18)),
                  *_stamps())
CONTACTS = Table(TABLE_CONTACTS, _META, Column("id", _ID, primary_key=True), Column("company_id", _ID),
                 Column("first_name", String(40)), Column("last_name", String(80)), Column("email", String(80)),
                 Column("phone", String(40)), Column("title", String(128)), Column("sf_id", String(18)), *_stamps())
LEADS = Table(TABLE_LEADS, _META, Column("id", _ID, primary_key=True), Column("first_name", String(40)),
              Column("last_name", String(80)), Column("company", String(255)), Column("email", String(80)),
              Column("phone", String(40)), Column("title", String(128)), Column("stage", String(40)),
              Column("owner_email", String(80)), Column("sf_id", String(18)), *_stamps())
TABLES: dict[str, Table] = {"companies": COMPANIES, "contacts": CONTACTS, "leads": LEADS}
FLOW_OF: dict[str, str] = {"companies": FLOW_COMPANIES, "contacts": FLOW_CONTACTS, "leads": FLOW_LEADS}
#: Columns the tool lets a person edit, per kind (ids, Salesforce Ids and stamps are not).
EDITABLE: dict[str, tuple[str, ...]] = {
    "companies": ("name", "website", "phone"),
    "contacts": ("company_id", "first_name", "last_name", "email", "phone", "title"),
    "leads": ("first_name", "last_name", "company", "email", "phone", "title", "stage", "owner_email"),
}
REQUIRED: dict[str, tuple[str, ...]] = {"companies": ("name",), "contacts": ("last_name",),
                                        "leads": ("last_name", "company")}


class PipelineError(Exception):
    """A write the tool refuses; ``code`` says why (NOT_FOUND, INVALID_STAGE, INVALID_VALUE...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Page:
    rows: list[dict[str, Any]]
    total: int


def _now() -> datetime:
    return datetime.now(UTC)


def _checked(kind: str, values: dict[str, Any], *, new: bool) -> dict[str, Any]:
    if kind not in TABLES:
        raise PipelineError("NOT_FOUND", f"no record kind '{kind}' (companies, contacts, leads)")
    unknown = sorted(set(values) - set(EDITABLE[kind]))
    if unknown:
        raise PipelineError("INVALID_VALUE", f"{kind}: '{unknown[0]}' cannot be set "
                            f"(editable: {', '.join(EDITABLE[kind])})")
    cleaned = {k: (v.strip() or None) if isinstance(v, str) else v for k, v in values.items()}
    for column in REQUIRED[kind]:
        if (new or column in cleaned) and not cleaned.get(column):
            raise PipelineError("REQUIRED_FIELD_MISSING", f"{kind}: {column} is required")
    if "email" in cleaned and cleaned["email"]:
        cleaned["email"] = str(cleaned["email"]).lower()
    if "owner_email" in cleaned and cleaned["owner_email"]:
        cleaned["owner_email"] = str(cleaned["owner_email"]).lower()
    if kind == "leads" and "stage" in cleaned and cleaned["stage"] not in STAGES:
        raise PipelineError("INVALID_STAGE", f"'{cleaned['stage']}' is not a pipeline stage ({', '.join(STAGES)})")
    return cleaned


def create(engine: Engine, kind: Kind, values: dict[str, Any]) -> dict[str, Any]:
    """Add a company, contact or lead (a new lead is New unless given a stage)."""
    cleaned = _checked(kind, values, new=True)
    if kind == "leads":
        cleaned.setdefault("stage", "New")
    if kind == "contacts" and cleaned.get("company_id") is not None:
        get(engine, "companies", int(cleaned["company_id"]))
    now = _now()
    with engine.begin() as connection:
        result = connection.execute(insert(TABLES[kind]).values(**cleaned, created_at=now, updated_at=now))
        new_id = result.inserted_primary_key[0]
    return get(engine, kind, int(new_id))


def change(engine: Engine, kind: Kind, record_id: int, values: dict[str, Any]) -> dict[str, Any]:
    """Edit a record (move a lead's stage, transfer it to another owner...)."""
    cleaned = _checked(kind, values, new=False)
    current = get(engine, kind, record_id)
    if kind == "leads" and current["stage"] == "Won" and cleaned.get("stage", "Won") != "Won" \
            and current["sf_object"] not in (None, "Lead"):
        raise PipelineError("ALREADY_CONVERTED", f"lead {record_id} is won: its Lead was converted into "
                            f"{current['sf_object']} {current['linked_id']}, which cannot be undone")
    if kind == "contacts" and cleaned.get("company_id") is not None:
        get(engine, "companies", int(cleaned["company_id"]))
    table = TABLES[kind]
    with engine.begin() as connection:
        connection.execute(update(table).where(table.c.id == record_id).values(**cleaned, updated_at=_now()))
    return get(engine, kind, record_id)


def remove(engine: Engine, kind: Kind, record_id: int) -> None:
    """Delete a record; the flow deletes its twin in Salesforce at the next run."""
    get(engine, kind, record_id)
    table = TABLES[kind]
    with engine.begin() as connection:
        connection.execute(delete(table).where(table.c.id == record_id))


def _linked(kind: str) -> Any:
    """The table joined with its flow's live link: each row with ``sf_object`` and ``linked_id``."""
    table = TABLES[kind]
    return (select(table, Link.sf_object.label("sf_object"), Link.sf_id.label("linked_id"))
            .select_from(table.outerjoin(Link, and_(Link.flow == FLOW_OF[kind], Link.deleted.is_(False),
                                                    Link.app_key == cast(table.c.id, String(255))))))


def get(engine: Engine, kind: Kind, record_id: int) -> dict[str, Any]:
    if kind not in TABLES:
        raise PipelineError("NOT_FOUND", f"no record kind '{kind}' (companies, contacts, leads)")
    with engine.connect() as connection:
        row = connection.execute(_linked(kind).where(TABLES[kind].c.id == record_id)).mappings().first()
    if row is None:
        raise PipelineError("NOT_FOUND", f"no {kind.removesuffix('s').replace('compani', 'company')} {record_id}")
    return dict(row)


def list_records(engine: Engine, kind: Kind, *, stage: str | None = None, owner_email: str | None = None,
                 limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    """Records of one kind, newest first; leads optionally of one stage or owner."""
    if kind not in TABLES:
        raise PipelineError("NOT_FOUND", f"no record kind '{kind}' (companies, contacts, leads)")
    table = TABLES[kind]
    query = _linked(kind)
    if kind == "leads" and stage is not None:
        query = query.where(table.c.stage == stage)
    if kind == "leads" and owner_email is not None:
        query = query.where(table.c.owner_email == owner_email.strip().lower())
    with engine.connect() as connection:
        rows = connection.execute(query.order_by(table.c.id.desc()).limit(limit).offset(offset)).mappings()
        return [dict(row) for row in rows]


def events(engine: Engine, *, kind: Kind | None = None, record_id: int | None = None,
           event_kinds: list[str] | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """The pipeline's lifecycle events (created, won, lost, deleted, owner_changed, converted...), newest first."""
    query = select(Event).where(Event.flow.in_([FLOW_OF[kind]] if kind else list(FLOWS)))
    if record_id is not None:
        query = query.where(Event.app_key == str(record_id))
    if event_kinds:
        query = query.where(Event.kind.in_(event_kinds))
    with engine.connect() as connection:
        rows = connection.execute(query.order_by(Event.id.desc()).limit(limit)).mappings()
        return [{"id": row["id"], "run_id": row["run_id"], "flow": row["flow"], "kind": row["kind"],
                 "record_id": int(row["app_key"]) if row["app_key"] and row["app_key"].isdigit() else None,
                 "sf_id": row["sf_id"], "origin": (row["details"] or {}).get("origin"),
                 "details": row["details"] or {}, "created_at": row["created_at"]} for row in rows]


def open_errors(engine: Engine, limit: int = 100) -> list[dict[str, Any]]:
    """The pipeline flows' unresolved record errors (unmapped stage, unknown owner, unsynced company...)."""
    query = (select(RecordError).where(RecordError.flow.in_(list(FLOWS)),
                                       RecordError.status.in_((ErrorStatus.OPEN.value, ErrorStatus.RETRYING.value)))
             .order_by(RecordError.id.desc()).limit(limit))
    with engine.connect() as connection:
        rows = connection.execute(query).mappings()
        return [{"id": row["id"], "flow": row["flow"], "direction": row["direction"],
                 "operation": row["operation"], "record_id": row["app_key"], "sf_id": row["sf_id"],
                 "error_code": row["error_code"], "message": row["message"]} for row in rows]
