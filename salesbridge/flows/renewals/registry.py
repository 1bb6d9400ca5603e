"""Subscriptions, change orders and sales orders in their ``sb_`` tables: billing's side of the renewal flows.

The registry writes the tables as a billing system would, so the change log sees every write and the flows send
them. A change order with transaction type "Sales Order" produces a sales order; a renewal also produces the
draft renewal subscription (the next term). All rows a change order makes are written in one transaction.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
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
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection

from salesbridge.flows.renewals.recipe import (
    CHANGE_ORDER_STATUSES,
    CHANGE_ORDERS_TABLE,
    ORDER_TYPES,
    SALES_ORDER_STATUSES,
    SALES_ORDERS_TABLE,
    SUBSCRIPTION_STATUSES,
    SUBSCRIPTIONS_TABLE,
    TRANSACTION_TYPES,
)

_METADATA = MetaData()
_STAMPS = ("created_at", "updated_at")

#: The tables as migration 0007 makes them, typed, so that values bind alike on SQLite and PostgreSQL.
SUBSCRIPTIONS = Table(
    SUBSCRIPTIONS_TABLE, _METADATA,
    Column("id", Integer, primary_key=True), Column("name", String(80)), Column("account_id", String(18)),
    Column("plan", String(100)), Column("quantity", Integer), Column("unit_price", Numeric(18, 2)),
    Column("term_months", Integer), Column("start_date", Date), Column("end_date", Date),
    Column("status", String(40)), Column("renewed_from_id", Integer), Column("sf_id", String(18)),
    Column("created_at", DateTime(timezone=True)), Column("updated_at", DateTime(timezone=True)),
)
SALES_ORDERS = Table(
    SALES_ORDERS_TABLE, _METADATA,
    Column("id", Integer, primary_key=True), Column("name", String(120)), Column("subscription_id", Integer),
    Column("change_order_id", Integer), Column("account_id", String(18)), Column("amount", Numeric(18, 2)),
    Column("close_date", Date), Column("status", String(40)), Column("sf_id", String(18)),
    Column("created_at", DateTime(timezone=True)), Column("updated_at", DateTime(timezone=True)),
)
CHANGE_ORDERS = Table(
    CHANGE_ORDERS_TABLE, _METADATA,
    Column("id", Integer, primary_key=True), Column("subscription_id", Integer), Column("order_type", String(20)),
    Column("transaction_type", String(20)), Column("effective_date", Date), Column("quantity", Integer),
    Column("unit_price", Numeric(18, 2)), Column("status", String(20)), Column("renewal_subscription_id", Integer),
    Column("sales_order_id", Integer), Column("notes", String(255)), Column("sf_id", String(18)),
    Column("created_at", DateTime(timezone=True)), Column("updated_at", DateTime(timezone=True)),
)
#: An Account Id: 15 or 18 characters starting with Account's key prefix 001.
_ACCOUNT_ID = re.compile(r"^001[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?$")


class RenewalError(Exception):
    """A write the registry refuses; ``code`` says why (NOT_FOUND, INVALID_VALUE, RENEWAL_EXISTS): the API's
    status follows it (404, 422, 409)."""

    def __init__(self, code: str, message: str, existing_id: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.existing_id = existing_id


@dataclass
class NewSubscription:
    name: str
    account_id: str
    plan: str
    quantity: int
    unit_price: Decimal | float | int
    start_date: date
    term_months: int = 12
    end_date: date | None = None
    status: str = "Active"


@dataclass
class NewChangeOrder:
    """A change to a subscription. For a renewal, quantity, unit price and term default to the current
    subscription's, and the effective date to the day after it ends."""

    subscription_id: int
    order_type: str
    transaction_type: str = "Sales Order"
    effective_date: date | None = None
    quantity: int | None = None
    unit_price: Decimal | float | int | None = None
    term_months: int | None = None
    close_date: date | None = None
    notes: str | None = None


@dataclass
class SalesOrderChange:
    """The fields of a sales order billing may change; None leaves a field as it is."""

    amount: Decimal | float | int | None = None
    status: str | None = None
    close_date: date | None = None
    unset: list[str] = field(default_factory=list)


def _now() -> datetime:
    return datetime.now(UTC)


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day when it is shorter (Jan 31 + 1 = Feb 28/29)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def term_end(start: date, term_months: int) -> date:
    """The last day of a term: a 12-month term from 2026-01-01 ends on 2026-12-31."""
    return add_months(start, term_months) - timedelta(days=1)


def _one(connection: Connection, table: Table, row_id: int, what: str, *, lock: bool = False) -> dict[str, Any]:
    """One row by id; ``lock``: held for the rest of the transaction, so that a check made on it (no open
    renewal yet) still holds when the transaction writes. PostgreSQL locks the row (FOR UPDATE); SQLite has no
    row locks, so its transaction takes the database's write lock at once (BEGIN IMMEDIATE)."""
    query = select(table).where(table.c.id == row_id)
    if lock and connection.dialect.name == "sqlite":
        raw = connection.connection.dbapi_connection
        if raw is not None and not raw.in_transaction:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
    elif lock:
        query = query.with_for_update()
    row = connection.execute(query).mappings().first()
    if row is None:
        raise RenewalError("NOT_FOUND", f"no {what} {row_id}")
    return dict(row)


def _inserted(connection: Connection, table: Table, values: dict[str, Any]) -> int:
    return int(connection.execute(insert(table).values(**values).returning(table.c.id)).scalar_one())


def _check(value: Any, allowed: tuple[str, ...], what: str) -> None:
    if value not in allowed:
        raise RenewalError("INVALID_VALUE", f"'{value}' is not a {what} ({', '.join(allowed)})")


# -- subscriptions ---------------------------------------------------------------------------------------
def create_subscription(engine: Engine, new: NewSubscription) -> dict[str, Any]:
    """Store a subscription; its end date defaults to the end of its term."""
    account_id = new.account_id.strip()
    if not _ACCOUNT_ID.match(account_id):
        raise RenewalError("INVALID_VALUE", f"account_id '{new.account_id}' is not a Salesforce Account Id "
                           "(15 or 18 characters starting with 001)")
    _check(new.status, SUBSCRIPTION_STATUSES, "subscription status")
    if new.quantity < 1 or new.term_months < 1:
        raise RenewalError("INVALID_VALUE", "quantity and term_months are at least 1")
    end = new.end_date or term_end(new.start_date, new.term_months)
    if end < new.start_date:
        raise RenewalError("INVALID_VALUE", f"end_date {end} is before start_date {new.start_date}")
    now = _now()
    with engine.begin() as connection:
        new_id = _inserted(connection, SUBSCRIPTIONS, {
            **new.__dict__, "account_id": account_id, "unit_price": Decimal(str(new.unit_price)), "end_date": end,
            "created_at": now, "updated_at": now})
    return get_subscription(engine, new_id)


def get_subscription(engine: Engine, subscription_id: int) -> dict[str, Any]:
    with engine.connect() as connection:
        return _one(connection, SUBSCRIPTIONS, subscription_id, "subscription")


def list_subscriptions(engine: Engine, *, account_id: str | None = None, status: str | None = None,
                       limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    query = select(SUBSCRIPTIONS).order_by(SUBSCRIPTIONS.c.id.desc()).limit(limit).offset(offset)
    if account_id is not None:
        query = query.where(SUBSCRIPTIONS.c.account_id == account_id)
    if status is not None:
        query = query.where(SUBSCRIPTIONS.c.status == status)
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(query).mappings()]


def move_account(engine: Engine, subscription_id: int, account_id: str) -> dict[str, Any]:
    """Give a subscription another customer Account (a wrong or merged one), with its draft renewals and the
    sales orders still open for them: sales orders keep a copy of the Account Id, so they move together."""
    account_id = account_id.strip()
    if not _ACCOUNT_ID.match(account_id):
        raise RenewalError("INVALID_VALUE", f"account_id '{account_id}' is not a Salesforce Account Id "
                           "(15 or 18 characters starting with 001)")
    now = _now()
    with engine.begin() as connection:
        current = _one(connection, SUBSCRIPTIONS, subscription_id, "subscription", lock=True)
        drafts = select(SUBSCRIPTIONS.c.id).where(SUBSCRIPTIONS.c.renewed_from_id == current["id"],
                                                  SUBSCRIPTIONS.c.status == "Draft")
        ids = [current["id"], *connection.execute(drafts).scalars()]
        connection.execute(update(SUBSCRIPTIONS).where(SUBSCRIPTIONS.c.id.in_(ids))
                           .values(account_id=account_id, updated_at=now))
        connection.execute(update(SALES_ORDERS).where(SALES_ORDERS.c.subscription_id.in_(ids),
                                                      SALES_ORDERS.c.status.not_in(("Booked", "Cancelled")))
                           .values(account_id=account_id, updated_at=now))
    return get_subscription(engine, subscription_id)


# -- change orders ---------------------------------------------------------------------------------------
def open_renewal(connection: Connection, subscription_id: int) -> dict[str, Any] | None:
    """The renewal change order of a subscription that is not cancelled: open, or completed (renewed)."""
    query = (select(CHANGE_ORDERS).where(CHANGE_ORDERS.c.subscription_id == subscription_id,
                                         CHANGE_ORDERS.c.order_type == "Renewal",
                                         CHANGE_ORDERS.c.status != "Cancelled").order_by(CHANGE_ORDERS.c.id))
    row = connection.execute(query).mappings().first()
    return dict(row) if row is not None else None


def create_change_order(engine: Engine, new: NewChangeOrder) -> dict[str, Any]:
    """Store a change order and what it produces, in one transaction.

    A renewal (transaction type "Sales Order") makes the draft renewal subscription for the next term and its
    sales order; another order type with "Sales Order" makes a sales order for the subscription as changed.
    A renewal of a subscription that already has a renewal that is not cancelled is refused (RENEWAL_EXISTS,
    naming it), as is a renewal without a sales order or a sale of a cancellation.
    """
    _check(new.order_type, ORDER_TYPES, "change order type")
    _check(new.transaction_type, TRANSACTION_TYPES, "transaction type")
    renewal = new.order_type == "Renewal"
    sells = new.transaction_type == "Sales Order"
    if renewal and not sells:
        raise RenewalError("INVALID_VALUE", "a renewal's transaction type is 'Sales Order': it is sold")
    if new.order_type == "Cancellation" and sells:
        raise RenewalError("INVALID_VALUE", "a cancellation sells nothing: its transaction type is 'Amendment'")
    if (new.quantity is not None and new.quantity < 1) or (new.term_months is not None and new.term_months < 1):
        raise RenewalError("INVALID_VALUE", "quantity and term_months are at least 1")
    now = _now()
    with engine.begin() as connection:
        # Locked, so that two renewals of one subscription made at once cannot both pass the check.
        current = _one(connection, SUBSCRIPTIONS, new.subscription_id, "subscription", lock=True)
        if current["status"] == "Cancelled":
            raise RenewalError("INVALID_VALUE", f"subscription {current['id']} is cancelled: it is not changed")
        if renewal:
            existing = open_renewal(connection, current["id"])
            if existing is not None:
                state = "already has an open renewal" if existing["status"] == "Open" else "was already renewed"
                raise RenewalError("RENEWAL_EXISTS", f"subscription {current['id']} {state}: change "
                                   f"order {existing['id']} (renewal subscription "
                                   f"{existing['renewal_subscription_id']})", existing_id=existing["id"])
        quantity = new.quantity if new.quantity is not None else current["quantity"]
        unit_price = Decimal(str(new.unit_price)) if new.unit_price is not None else current["unit_price"]
        effective = new.effective_date or (current["end_date"] + timedelta(days=1) if renewal else now.date())
        renewal_id = sold_id = None
        if renewal:
            term = new.term_months or current["term_months"]
            end = term_end(effective, term)
            renewal_id = _inserted(connection, SUBSCRIPTIONS, {
                "name": current["name"], "account_id": current["account_id"], "plan": current["plan"],
                "quantity": quantity, "unit_price": unit_price, "term_months": term, "start_date": effective,
                "end_date": end, "status": "Draft", "renewed_from_id": current["id"], "created_at": now,
                "updated_at": now})
        change_id = _inserted(connection, CHANGE_ORDERS, {
            "subscription_id": current["id"], "order_type": new.order_type,
            "transaction_type": new.transaction_type, "effective_date": effective, "quantity": new.quantity,
            "unit_price": new.unit_price if new.unit_price is None else unit_price, "status": "Open",
            "renewal_subscription_id": renewal_id, "notes": new.notes, "created_at": now, "updated_at": now})
        if sells:
            label = f"{effective:%Y-%m}" if renewal else f"{new.order_type.lower()} {effective:%Y-%m-%d}"
            sold_id = _inserted(connection, SALES_ORDERS, {
                "name": f"{current['name']} {'renewal ' if renewal else ''}{label}"[:120],
                "subscription_id": renewal_id or current["id"], "change_order_id": change_id,
                "account_id": current["account_id"], "amount": quantity * unit_price,
                "close_date": new.close_date or (current["end_date"] if renewal else effective),
                "status": "Draft", "created_at": now, "updated_at": now})
            connection.execute(update(CHANGE_ORDERS).where(CHANGE_ORDERS.c.id == change_id)
                               .values(sales_order_id=sold_id))
    return get_change_order(engine, change_id)


def get_change_order(engine: Engine, change_order_id: int) -> dict[str, Any]:
    with engine.connect() as connection:
        return _one(connection, CHANGE_ORDERS, change_order_id, "change order")


def list_change_orders(engine: Engine, *, subscription_id: int | None = None, limit: int = 100,
                       offset: int = 0) -> list[dict[str, Any]]:
    query = select(CHANGE_ORDERS).order_by(CHANGE_ORDERS.c.id.desc()).limit(limit).offset(offset)
    if subscription_id is not None:
        query = query.where((CHANGE_ORDERS.c.subscription_id == subscription_id)
                            | (CHANGE_ORDERS.c.renewal_subscription_id == subscription_id))
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(query).mappings()]


# -- sales orders ----------------------------------------------------------------------------------------
def get_sales_order(engine: Engine, sales_order_id: int) -> dict[str, Any]:
    with engine.connect() as connection:
        return _one(connection, SALES_ORDERS, sales_order_id, "sales order")


def list_sales_orders(engine: Engine, *, status: str | None = None, limit: int = 100,
                      offset: int = 0) -> list[dict[str, Any]]:
    query = select(SALES_ORDERS).order_by(SALES_ORDERS.c.id.desc()).limit(limit).offset(offset)
    if status is not None:
        query = query.where(SALES_ORDERS.c.status == status)
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(query).mappings()]


def update_sales_order(engine: Engine, sales_order_id: int, change: SalesOrderChange) -> dict[str, Any]:
    """Change a sales order's amount, status or close date; the sales order flow sends it to its Opportunity.

    Booking the order completes its change order; cancelling it cancels the change order and the draft renewal
    subscription, so that the subscription can be renewed again.
    """
    if change.status is not None:
        _check(change.status, SALES_ORDER_STATUSES, "sales order status")
    if change.amount is not None and Decimal(str(change.amount)) < 0:
        raise RenewalError("INVALID_VALUE", "amount is not negative")
    values: dict[str, Any] = {name: getattr(change, name) for name in ("amount", "status", "close_date")
                              if getattr(change, name) is not None}
    for name in change.unset:
        if name != "amount":
            raise RenewalError("INVALID_VALUE", f"only amount may be emptied, not {name}")
        values[name] = None
    now = _now()
    with engine.begin() as connection:
        order = _one(connection, SALES_ORDERS, sales_order_id, "sales order", lock=True)
        if not values:
            return order
        connection.execute(update(SALES_ORDERS).where(SALES_ORDERS.c.id == order["id"])
                           .values(**values, updated_at=now))
        if change.status in ("Booked", "Cancelled") and order["change_order_id"] is not None:
            _close_change_order(connection, order["change_order_id"], change.status, now)
    return get_sales_order(engine, sales_order_id)


def _close_change_order(connection: Connection, change_order_id: int, sales_status: str, now: datetime) -> None:
    status = "Completed" if sales_status == "Booked" else "Cancelled"
    assert status in CHANGE_ORDER_STATUSES
    order = _one(connection, CHANGE_ORDERS, change_order_id, "change order")
    if order["status"] != status:
        connection.execute(update(CHANGE_ORDERS).where(CHANGE_ORDERS.c.id == change_order_id)
                           .values(status=status, updated_at=now))
    if status == "Cancelled" and order["renewal_subscription_id"] is not None:
        connection.execute(update(SUBSCRIPTIONS).where(SUBSCRIPTIONS.c.id == order["renewal_subscription_id"],
                                                       SUBSCRIPTIONS.c.status == "Draft")
                           .values(status="Cancelled", updated_at=now))


def counts(engine: Engine) -> dict[str, int]:
    """Rows per table (the admin page's summary)."""
    with engine.connect() as connection:
        return {table.name: int(connection.execute(select(func.count()).select_from(table)).scalar_one())
                for table in (SUBSCRIPTIONS, CHANGE_ORDERS, SALES_ORDERS)}
