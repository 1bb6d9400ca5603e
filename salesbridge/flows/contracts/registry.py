"""The contract tables (migration 0006) and reading them: requests, company and contract profiles, documents.

The Table objects are typed copies of what the migration makes, so that values bind alike on SQLite and
PostgreSQL. Writes that change a request's status live in ``decisions``, ``pickup`` and ``signature``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Engine,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    select,
)

from salesbridge.flows.contracts.recipe import TABLE

metadata = MetaData()
_ID = BigInteger().with_variant(Integer(), "sqlite")

COMPANIES = Table(
    "sb_company_profiles", metadata,
    Column("id", _ID, primary_key=True), Column("sf_account_id", String(18)), Column("name", String(255)),
    Column("created_at", DateTime(timezone=True)), Column("updated_at", DateTime(timezone=True)),
)
REQUESTS = Table(
    TABLE, metadata,
    Column("id", _ID, primary_key=True), Column("sf_id", String(18)), Column("name", String(80)),
    Column("opportunity_id", String(18)), Column("account_id", String(18)), Column("contract_type", String(40)),
    Column("start_date", Date), Column("end_date", Date), Column("contract_value", Numeric(18, 2)),
    Column("status", String(40)), Column("reviewer_comment", Text), Column("company_account_id", String(18)),
    Column("company_name", String(255)), Column("picked_up_at", DateTime(timezone=True)),
    Column("reviewer", String(150)), Column("decided_at", DateTime(timezone=True)),
    Column("company_profile_id", _ID, ForeignKey("sb_company_profiles.id")), Column("webhook_state", String(20)),
    Column("webhook_error", Text), Column("webhook_attempts", Integer), Column("signed_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True)), Column("updated_at", DateTime(timezone=True)),
)
PROFILES = Table(
    "sb_contract_profiles", metadata,
    Column("id", _ID, primary_key=True), Column("request_id", _ID, ForeignKey(f"{TABLE}.id")),
    Column("company_profile_id", _ID, ForeignKey("sb_company_profiles.id")),
    Column("sf_opportunity_id", String(18)), Column("contract_type", String(40)), Column("start_date", Date),
    Column("end_date", Date), Column("contract_value", Numeric(18, 2)), Column("status", String(40)),
    Column("created_at", DateTime(timezone=True)), Column("updated_at", DateTime(timezone=True)),
)
DOCUMENTS = Table(
    "sb_contract_documents", metadata,
    Column("id", _ID, primary_key=True), Column("request_id", _ID, ForeignKey(f"{TABLE}.id")),
    Column("contract_profile_id", _ID, ForeignKey("sb_contract_profiles.id")), Column("kind", String(20)),
    Column("file_name", String(255)), Column("size", BigInteger), Column("checksum", String(64)),
    Column("content", LargeBinary), Column("sf_content_document_id", String(18)),
    Column("sf_content_version_id", String(18)), Column("sf_opportunity_link_id", String(18)),
    Column("shared_at", DateTime(timezone=True)), Column("created_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True)),
)
#: Document columns without the bytes: what listings show.
DOCUMENT_FIELDS = [column for column in DOCUMENTS.c if column.name != "content"]


class ContractError(Exception):
    """A change the flow refuses; ``code`` says why (the API's status follows it)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def now() -> datetime:
    return datetime.now(UTC)


def get(engine: Engine, request_id: int) -> dict[str, Any]:
    with engine.connect() as connection:
        row = connection.execute(select(REQUESTS).where(REQUESTS.c.id == request_id)).mappings().first()
    if row is None:
        raise ContractError("NOT_FOUND", f"no contract request {request_id}")
    return dict(row)


def list_requests(engine: Engine, *, status: str | None = None, limit: int = 100,
                  offset: int = 0) -> list[dict[str, Any]]:
    """Requests, newest first, optionally of one status (``In Review`` is the approval queue)."""
    query = select(REQUESTS).order_by(REQUESTS.c.id.desc()).limit(limit).offset(offset)
    if status is not None:
        query = query.where(REQUESTS.c.status == status)
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(query).mappings()]


def documents(engine: Engine, request_id: int) -> list[dict[str, Any]]:
    """The request's documents without their bytes, oldest first."""
    with engine.connect() as connection:
        rows = connection.execute(select(*DOCUMENT_FIELDS).where(DOCUMENTS.c.request_id == request_id)
                                  .order_by(DOCUMENTS.c.id)).mappings()
        return [dict(row) for row in rows]


def document_content(engine: Engine, request_id: int, document_id: int) -> tuple[dict[str, Any], bytes]:
    with engine.connect() as connection:
        row = connection.execute(select(DOCUMENTS).where(DOCUMENTS.c.id == document_id,
                                                         DOCUMENTS.c.request_id == request_id)).mappings().first()
    if row is None:
        raise ContractError("NOT_FOUND", f"contract request {request_id} has no document {document_id}")
    meta = {key: value for key, value in row.items() if key != "content"}
    return meta, bytes(row["content"])


def profile_of(engine: Engine, request_id: int) -> dict[str, Any] | None:
    """The request's contract profile with its company profile (``company``), or None before approval."""
    with engine.connect() as connection:
        profile = connection.execute(select(PROFILES).where(PROFILES.c.request_id == request_id)).mappings().first()
        if profile is None:
            return None
        company = connection.execute(select(COMPANIES).where(COMPANIES.c.id == profile["company_profile_id"])
                                     ).mappings().one()
    return {**dict(profile), "company": dict(company)}


def companies(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(select(COMPANIES).order_by(COMPANIES.c.id)).mappings()]
