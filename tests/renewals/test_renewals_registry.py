"""The renewal registry on SQLite and PostgreSQL: a renewal change order makes its draft renewal subscription
and sales order in one transaction, a second renewal is refused, bad input is named, sales order changes
close the change order."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import Engine, func, select

from salesbridge.flows.renewals import registry
from salesbridge.flows.renewals.registry import (
    CHANGE_ORDERS,
    SALES_ORDERS,
    SUBSCRIPTIONS,
    NewChangeOrder,
    NewSubscription,
    RenewalError,
    SalesOrderChange,
    add_months,
    term_end,
)
from salesbridge.store.db import migrate, open_store

ACCOUNT = "001000000000001AAA"


@pytest.fixture
def engine(app_url: str) -> Iterator[Engine]:
    built = open_store(app_url)
    migrate(built)
    yield built
    built.dispose()


def subscription(engine: Engine, **extra: object) -> dict:
    values = {"name": "Acme Pro", "account_id": ACCOUNT, "plan": "Pro", "quantity": 10, "unit_price": 120,
              "start_date": date(2026, 1, 1), **extra}
    return registry.create_subscription(engine, NewSubscription(**values))  # type: ignore[arg-type]


def test_terms_end_the_day_before_the_same_day_months_later() -> None:
    assert term_end(date(2026, 1, 1), 12) == date(2026, 12, 31)
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2027, 11, 30), 3) == date(2028, 2, 29)


def test_a_renewal_makes_the_next_term_and_a_sales_order(engine: Engine) -> None:
    current = subscription(engine)
    assert (current["end_date"], current["status"]) == (date(2026, 12, 31), "Active")

    order = registry.create_change_order(engine, NewChangeOrder(current["id"], "Renewal", quantity=12))

    renewal = registry.get_subscription(engine, order["renewal_subscription_id"])
    sold = registry.get_sales_order(engine, order["sales_order_id"])
    assert (order["status"], order["transaction_type"], order["effective_date"]) == ("Open", "Sales Order",
                                                                                      date(2027, 1, 1))
    assert (renewal["status"], renewal["renewed_from_id"], renewal["account_id"]) == ("Draft", current["id"],
                                                                                      ACCOUNT)
    assert (renewal["start_date"], renewal["end_date"], renewal["quantity"]) == (date(2027, 1, 1),
                                                                                 date(2027, 12, 31), 12)
    assert renewal["unit_price"] == Decimal("120.00") and renewal["plan"] == "Pro"
    assert (sold["subscription_id"], sold["change_order_id"], sold["account_id"]) == (renewal["id"], order["id"],
                                                                                      ACCOUNT)
    assert (sold["amount"], sold["status"], sold["close_date"]) == (Decimal("1440.00"), "Draft", date(2026, 12, 31))
    assert sold["name"] == "Acme Pro renewal 2027-01"


def test_a_second_renewal_is_refused_until_the_first_is_cancelled(engine: Engine) -> None:
    current = subscription(engine)
    first = registry.create_change_order(engine, NewChangeOrder(current["id"], "Renewal"))
    with pytest.raises(RenewalError) as refused:
        registry.create_change_order(engine, NewChangeOrder(current["id"], "Renewal"))
    assert refused.value.code == "RENEWAL_EXISTS" and refused.value.existing_id == first["id"]
    assert "already has an open renewal" in str(refused.value)
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(SUBSCRIPTIONS)).scalar_one() == 2, \
            "a refused renewal leaves nothing behind"

    registry.update_sales_order(engine, first["sales_order_id"], SalesOrderChange(status="Cancelled"))
    assert registry.get_change_order(engine, first["id"])["status"] == "Cancelled"
    assert registry.get_subscription(engine, first["renewal_subscription_id"])["status"] == "Cancelled"
    second = registry.create_change_order(engine, NewChangeOrder(current["id"], "Renewal"))
    registry.update_sales_order(engine, second["sales_order_id"], SalesOrderChange(status="Booked", amount=999))
    assert registry.get_change_order(engine, second["id"])["status"] == "Completed"
    with pytest.raises(RenewalError, match="was already renewed"):
        registry.create_change_order(engine, NewChangeOrder(current["id"], "Renewal"))


def test_other_change_orders_sell_or_amend(engine: Engine) -> None:
    current = subscription(engine)
    upgrade = registry.create_change_order(engine, NewChangeOrder(current["id"], "Upgrade", quantity=15,
                                                                  effective_date=date(2026, 6, 1)))
    assert upgrade["renewal_subscription_id"] is None
    sold = registry.get_sales_order(engine, upgrade["sales_order_id"])
    assert (sold["subscription_id"], sold["amount"], sold["name"]) == (current["id"], Decimal("1800.00"),
                                                                       "Acme Pro upgrade 2026-06-01")
    amendment = registry.create_change_order(engine, NewChangeOrder(current["id"], "Cancellation", "Amendment"))
    assert amendment["sales_order_id"] is None
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(SALES_ORDERS)).scalar_one() == 1
        assert connection.execute(select(func.count()).select_from(CHANGE_ORDERS)).scalar_one() == 2


@pytest.mark.parametrize(("change", "message"), [
    ({"order_type": "Renew"}, "'Renew' is not a change order type"),
    ({"order_type": "Renewal", "transaction_type": "Amendment"}, "a renewal's transaction type is 'Sales Order'"),
    ({"order_type": "Cancellation"}, "a cancellation sells nothing"),
    ({"order_type": "Upgrade", "transaction_type": "Invoice"}, "'Invoice' is not a transaction type"),
    ({"order_type": "Upgrade", "quantity": 0}, "quantity and term_months are at least 1"),
])
def test_bad_change_orders_are_named(engine: Engine, change: dict, message: str) -> None:
    current = subscription(engine)
    with pytest.raises(RenewalError, match=message) as refused:
        registry.create_change_order(engine, NewChangeOrder(current["id"], **change))
    assert refused.value.code == "INVALID_VALUE"


def test_bad_subscriptions_and_sales_order_changes_are_named(engine: Engine) -> None:
    with pytest.raises(RenewalError, match="'Acme' is not a Salesforce Account Id"):
        subscription(engine, account_id="Acme")
    cancelled = subscription(engine, status="Cancelled")
    with pytest.raises(RenewalError, match=f"subscription {cancelled['id']} is cancelled"):
        registry.create_change_order(engine, NewChangeOrder(cancelled["id"], "Renewal"))
    with pytest.raises(RenewalError, match="'Paused' is not a subscription status"):
        subscription(engine, status="Paused")
    with pytest.raises(RenewalError, match="no subscription 99") as missing:
        registry.create_change_order(engine, NewChangeOrder(99, "Renewal"))
    assert missing.value.code == "NOT_FOUND"
    order = registry.create_change_order(engine, NewChangeOrder(subscription(engine)["id"], "Renewal"))
    with pytest.raises(RenewalError, match="'Won' is not a sales order status"):
        registry.update_sales_order(engine, order["sales_order_id"], SalesOrderChange(status="Won"))
    with pytest.raises(RenewalError, match="no sales order 42"):
        registry.update_sales_order(engine, 42, SalesOrderChange(amount=1))


def test_moving_a_subscription_to_another_account_moves_its_renewal_and_open_sales_order(engine: Engine) -> None:
    current = subscription(engine)
    order = registry.create_change_order(engine, NewChangeOrder(current["id"], "Renewal"))
    other = "001000000000002AAA"
    registry.move_account(engine, current["id"], other)
    assert registry.get_subscription(engine, current["id"])["account_id"] == other
    assert registry.get_subscription(engine, order["renewal_subscription_id"])["account_id"] == other
    assert registry.get_sales_order(engine, order["sales_order_id"])["account_id"] == other
    with pytest.raises(RenewalError, match="is not a Salesforce Account Id"):
        registry.move_account(engine, current["id"], "003000000000002AAA")


def test_two_renewals_made_at_once_make_one_and_refuse_the_other(engine: Engine) -> None:
    current = subscription(engine)
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def renew() -> None:
        barrier.wait()
        try:
            registry.create_change_order(engine, NewChangeOrder(current["id"], "Renewal"))
            outcomes.append("created")
        except RenewalError as error:
            outcomes.append(error.code)

    threads = [threading.Thread(target=renew) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["RENEWAL_EXISTS"] * 3 + ["created"]
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(SUBSCRIPTIONS)).scalar_one() == 2


def test_a_sales_order_amount_can_be_emptied_but_nothing_else(engine: Engine) -> None:
    order = registry.create_change_order(engine, NewChangeOrder(subscription(engine)["id"], "Renewal"))
    emptied = registry.update_sales_order(engine, order["sales_order_id"], SalesOrderChange(unset=["amount"]))
    assert emptied["amount"] is None and emptied["status"] == "Draft"
    with pytest.raises(RenewalError, match="only amount may be emptied, not status"):
        registry.update_sales_order(engine, order["sales_order_id"], SalesOrderChange(unset=["status"]))
