"""The Renewals page: subscriptions with their Salesforce twins, change orders, sales orders; forms to add a
subscription, renew one (or record another change), change a sales order, and run the renewal flows now.

The writes go through the same registry as ``/api/renewals``, so the page and the API refuse the same things.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from salesbridge.flows.renewals import registry
from salesbridge.flows.renewals.recipe import FLOW_NAMES, ORDER_TYPES, SALES_ORDER_STATUSES, TRANSACTION_TYPES
from salesbridge.flows.renewals.registry import NewChangeOrder, NewSubscription, RenewalError, SalesOrderChange
from salesbridge.store.web_models import Role
from salesbridge.web.background import RunInProgress
from salesbridge.web.pages_common import OperatorPage, ViewerPage, redirect, render, web
from salesbridge.web.state import HubUnavailable

router = APIRouter(include_in_schema=False)
SHOWN = 200
PAGE = "/renewals"


def _text(form: Any, name: str) -> str:
    return str(form.get(name) or "").strip()


def _day(value: str) -> date | None:
    return date.fromisoformat(value) if value else None


@router.get(PAGE)
def renewals_page(request: Request, principal: ViewerPage) -> Response:
    state = web(request)
    try:
        engine = state.hub().engine
        subscriptions = registry.list_subscriptions(engine, limit=SHOWN)
        change_orders = registry.list_change_orders(engine, limit=SHOWN)
        sales_orders = registry.list_sales_orders(engine, limit=SHOWN)
        configured = {flow.name for flow in state.hub_config().flows}
    except HubUnavailable as error:
        return render(request, "message.html", principal, status_code=503, title="The hub is not ready",
                      message=str(error))
    return render(request, "renewals.html", principal, title="Renewals", subscriptions=subscriptions,
                  change_orders=change_orders, sales_orders=sales_orders, order_types=ORDER_TYPES,
                  transaction_types=TRANSACTION_TYPES, sales_statuses=SALES_ORDER_STATUSES,
                  can_run=principal.has(Role.OPERATOR), flows_configured=set(FLOW_NAMES) <= configured)


@router.post(f"{PAGE}/subscriptions")
async def add_subscription(request: Request, principal: OperatorPage) -> Response:
    form = await request.form()
    values = {name: _text(form, name) for name in ("name", "account_id", "plan", "quantity", "unit_price",
                                                    "start_date", "term_months")}
    missing = [name.replace("_", " ") for name, value in values.items() if not value]
    if missing:
        return redirect(PAGE, error=f"Fill in: {', '.join(missing)}.")
    try:
        new = NewSubscription(name=values["name"], account_id=values["account_id"], plan=values["plan"],
                              quantity=int(values["quantity"]), unit_price=Decimal(values["unit_price"]),
                              start_date=date.fromisoformat(values["start_date"]),
                              term_months=int(values["term_months"]))
    except (InvalidOperation, ValueError):
        return redirect(PAGE, error="Quantity and term are whole numbers, unit price a number, start a date.")
    try:
        created = registry.create_subscription(web(request).hub().engine, new)
    except (RenewalError, HubUnavailable) as error:
        return redirect(PAGE, error=f"Not added: {error}")
    return redirect(PAGE, notice=f"Subscription {created['id']} added.")


@router.post(f"{PAGE}/change-orders")
async def add_change_order(request: Request, principal: OperatorPage) -> Response:
    form = await request.form()
    try:
        new = NewChangeOrder(subscription_id=int(_text(form, "subscription_id")),
                             order_type=_text(form, "order_type") or "Renewal",
                             transaction_type=_text(form, "transaction_type") or "Sales Order",
                             effective_date=_day(_text(form, "effective_date")),
                             quantity=int(_text(form, "quantity")) if _text(form, "quantity") else None)
    except ValueError:
        return redirect(PAGE, error="Subscription and quantity are whole numbers, the effective date a date.")
    try:
        order = registry.create_change_order(web(request).hub().engine, new)
    except (RenewalError, HubUnavailable) as error:
        return redirect(PAGE, error=f"Not created: {error}")
    made = [f"renewal subscription {order['renewal_subscription_id']}"] if order["renewal_subscription_id"] else []
    made += [f"sales order {order['sales_order_id']}"] if order["sales_order_id"] else []
    return redirect(PAGE, notice=f"Change order {order['id']} created" + (f" with {' and '.join(made)}."
                                                                           if made else "."))


@router.post(PAGE + "/sales-orders/{sales_order_id}")
async def change_sales_order(sales_order_id: int, request: Request, principal: OperatorPage) -> Response:
    form = await request.form()
    try:
        amount = _text(form, "amount")
        change = SalesOrderChange(amount=Decimal(amount) if amount else None, status=_text(form, "status") or None,
                                  close_date=_day(_text(form, "close_date")))
    except (InvalidOperation, ValueError):
        return redirect(PAGE, error="Amount is a number and close date a date (YYYY-MM-DD).")
    try:
        order = registry.update_sales_order(web(request).hub().engine, sales_order_id, change)
    except (RenewalError, HubUnavailable) as error:
        return redirect(PAGE, error=str(error))
    return redirect(PAGE, notice=f"Sales order {sales_order_id} is {order['status']}, {order['amount']}.")


@router.post(f"{PAGE}/sync")
def sync_renewals(request: Request, principal: OperatorPage) -> Response:
    """The "sync now" button: the three flows in chain order, in the request."""
    state = web(request)
    try:
        for name in FLOW_NAMES:
            state.hub_config().flow(name)
        report = state.runs.run_now(state.hub(), lambda hub: hub.sync(list(FLOW_NAMES)))
    except RunInProgress as error:
        return redirect(PAGE, error=str(error))
    except Exception as error:  # noqa: BLE001 - no renewal flows, Salesforce down...: shown, not a 500
        return redirect(PAGE, error=f"Not synced: {error}")
    if report.errors or report.failed:
        problem = "; ".join(report.errors.values()) or f"{report.failed} record(s) failed: see the errors"
        return redirect(PAGE, error=f"Run {report.run_id}: {problem}")
    return redirect(PAGE, notice=f"Renewals synced (run {report.run_id}): {report.written} written.")
