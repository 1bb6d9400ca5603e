"""Deals in ``sb_deals``: registration (duplicates refused), listing, status changes.

The registry writes the table as the partner portal would, so the change log sees every write and the deal
flow sends it; only bookkeeping the hub derives from Salesforce (``sf_object``) is written as the hub's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    Engine,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from salesbridge.connectors.sql import hub_writes
from salesbridge.flows.deals.recipe import FLOW_NAME, OPEN_STATUSES, STATUSES, TABLE

COLUMNS = ("id", "partner", "partner_deal_id", "company", "end_user_first_name", "end_user_last_name",
           "end_user_email", "title", "amount", "close_date", "status", "sf_id", "sf_object", "created_at",
           "updated_at")


#: The table as migration 0005 makes it, typed, so that values bind alike on SQLite and PostgreSQL.
DEALS = Table(
    TABLE, MetaData(),
    Column("id", Integer, primary_key=True), Column("partner", String(100)), Column("partner_deal_id", String(100)),
    Column("company", String(255)), Column("end_user_first_name", String(40)),
    Column("end_user_last_name", String(80)), Column("end_user_email", String(80)), Column("title", String(120)),
    Column("amount", Numeric(18, 2)), Column("close_date", Date), Column("status", String(40)),
    Column("sf_id", String(18)), Column("sf_object", String(40)), Column("created_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True)),
)


class DealError(Exception):
    """A registration or change the registry refuses; ``code`` says why (the API's status follows it)."""

    def __init__(self, code: str, message: str, existing_id: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.existing_id = existing_id


@dataclass
class NewDeal:
    partner: str
    partner_deal_id: str
    company: str
    end_user_last_name: str
    title: str
    end_user_first_name: str | None = None
    end_user_email: str | None = None
    amount: Decimal | float | None = None
    close_date: date | None = None
    status: str = "Submitted"


def _now() -> datetime:
    return datetime.now(UTC)


def _row(mapping: Any) -> dict[str, Any]:
    return {column: mapping[column] for column in COLUMNS}


def _select() -> str:
    return f"SELECT {', '.join(COLUMNS)} FROM {TABLE}"


def find_duplicate(engine: Engine, deal: NewDeal) -> dict[str, Any] | None:
    """The registered deal a new one would repeat: same partner and partner deal id (any status), or the same
    end user email at the same company among open deals (another partner registering the same opportunity)."""
    with engine.connect() as connection:
        same_id = connection.execute(text(f"{_select()} WHERE partner = :p AND partner_deal_id = :d"),
                                     {"p": deal.partner, "d": deal.partner_deal_id}).mappings().first()
        if same_id is not None:
            return _row(same_id)
        if not deal.end_user_email:
            return None
        statuses = ", ".join(f"'{status}'" for status in OPEN_STATUSES)
        same_customer = connection.execute(
            text(f"{_select()} WHERE lower(end_user_email) = :e AND lower(company) = :c "
                 f"AND status IN ({statuses}) ORDER BY id"),
            {"e": deal.end_user_email.strip().lower(), "c": deal.company.strip().lower()}).mappings().first()
    return _row(same_customer) if same_customer is not None else None


def register(engine: Engine, deal: NewDeal) -> dict[str, Any]:
    """Store a new deal; a duplicate raises DealError("DUPLICATE_DEAL") naming the deal it repeats."""
    if deal.status not in ("Draft", "Submitted"):
        raise DealError("INVALID_STATUS", f"a new deal is Draft or Submitted, not '{deal.status}'")
    existing = find_duplicate(engine, deal)
    if existing is not None:
        raise DealError("DUPLICATE_DEAL", f"deal {existing['id']} ({existing['partner']} "
                        f"{existing['partner_deal_id']}, {existing['company']}, {existing['status']}) is already "
                        "registered for this", existing_id=existing["id"])
    now = _now()
    values = {**deal.__dict__, "end_user_email": deal.end_user_email.strip().lower() if deal.end_user_email
              else None, "created_at": now, "updated_at": now}
    with engine.begin() as connection:
        connection.execute(insert(DEALS).values(**values))
        new_id = connection.execute(select(DEALS.c.id).where(DEALS.c.partner == deal.partner,
                                                             DEALS.c.partner_deal_id == deal.partner_deal_id)
                                    ).scalar_one()
    return get(engine, new_id)


def get(engine: Engine, deal_id: int) -> dict[str, Any]:
    with engine.connect() as connection:
        row = connection.execute(select(DEALS).where(DEALS.c.id == deal_id)).mappings().first()
    if row is None:
        raise DealError("NOT_FOUND", f"no deal {deal_id}")
    return _row(row)


def list_deals(engine: Engine, *, partner: str | None = None, status: str | None = None,
               limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    conditions, params = [], {"limit": limit, "offset": offset}
    if partner is not None:
        conditions.append("partner = :partner")
        params["partner"] = partner
    if status is not None:
        conditions.append("status = :status")
        params["status"] = status
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    with engine.connect() as connection:
        rows = connection.execute(text(f"{_select()}{where} ORDER BY id DESC LIMIT :limit OFFSET :offset"), params)
        return [_row(row) for row in rows.mappings()]


def set_status(engine: Engine, deal_id: int, status: str) -> dict[str, Any]:
    """Move a deal to ``status`` (one of STATUSES); the flow sends it when its status is one sync_on sends."""
    if status not in STATUSES:
        raise DealError("INVALID_STATUS", f"'{status}' is not a deal status ({', '.join(STATUSES)})")
    get(engine, deal_id)
    with engine.begin() as connection:
        connection.execute(update(DEALS).where(DEALS.c.id == deal_id).values(status=status, updated_at=_now()))
    return get(engine, deal_id)


def record_salesforce_objects(engine: Engine) -> None:
    """Copy each deal's linked object (Lead, or the Opportunity it was routed or converted to) from the links.

    A hub write: it changes no mapped column, so it must not look like a change to send."""
    with Session(engine) as session, session.begin():
        hub_writes(session)
        session.execute(text(
            f"UPDATE {TABLE} SET sf_object = (SELECT sf_object FROM sb_links WHERE sb_links.flow = :f "
            f"AND sb_links.app_key = CAST({TABLE}.id AS VARCHAR(255)) AND sb_links.deleted = :no) "
            f"WHERE EXISTS (SELECT 1 FROM sb_links WHERE sb_links.flow = :f "
            f"AND sb_links.app_key = CAST({TABLE}.id AS VARCHAR(255)))"), {"f": FLOW_NAME, "no": False})
