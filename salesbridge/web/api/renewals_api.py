"""``/api/renewals``: subscriptions, change orders (a renewal makes its draft subscription and sales order),
sales orders (amount, status and close date changes go to their Opportunity), and "sync now" of the chain.

Billing systems write through API tokens of the *operator* role; viewers read.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from salesbridge.flows.renewals import registry
from salesbridge.flows.renewals.recipe import (
    FLOW_NAMES,
    ORDER_TYPES,
    SALES_ORDER_STATUSES,
    SUBSCRIPTION_STATUSES,
    SUBSCRIPTIONS,
    TRANSACTION_TYPES,
)
from salesbridge.flows.renewals.registry import NewChangeOrder, NewSubscription, RenewalError, SalesOrderChange
from salesbridge.sync.runs import RunReport
from salesbridge.web.api.common import AUTH_ERRORS, BUSY, HUB_ERRORS, NOT_FOUND, IdPath
from salesbridge.web.auth import OperatorDep, StateDep, ViewerDep
from salesbridge.web.schemas import Problem
from salesbridge.web.state import WebState

router = APIRouter(prefix="/renewals", tags=["renewals"])
_INVALID = {422: {"description": "a value the registry refuses (named in detail)"}}
_EXISTS = {409: {"model": Problem, "description": "the subscription already has a renewal that is not cancelled "
                                                 "(existing_change_order_id names it)"}}
_Money = Field(default=None, ge=0, le=Decimal("9999999999999999"), decimal_places=2)


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    account_id: str = Field(min_length=15, max_length=18, description="the customer's Salesforce Account Id")
    plan: str = Field(min_length=1, max_length=100)
    quantity: int = Field(ge=1, le=10**9)
    unit_price: Decimal = Field(ge=0, le=Decimal("9999999999999999"), decimal_places=2,
                                description="price of one unit for the whole term")
    start_date: date
    term_months: int = Field(default=12, ge=1, le=999)
    end_date: date | None = Field(default=None, description="default: the last day of the term")
    status: str = Field(default="Active", description=", ".join(SUBSCRIPTION_STATUSES))


class SubscriptionOut(BaseModel):
    id: int
    name: str
    account_id: str
    plan: str
    quantity: int
    unit_price: Decimal
    term_months: int
    start_date: date
    end_date: date
    status: str
    renewed_from_id: int | None
    sf_id: str | None
    created_at: datetime | str
    updated_at: datetime | str


class AccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_id: str = Field(min_length=15, max_length=18, description="the customer's Salesforce Account Id")


class ChangeOrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subscription_id: int = Field(ge=1, le=2**63 - 1)
    order_type: str = Field(description=", ".join(ORDER_TYPES))
    transaction_type: str = Field(default="Sales Order", description=", ".join(TRANSACTION_TYPES))
    effective_date: date | None = Field(default=None, description="a renewal: default the day after the "
                                        "current term ends")
    quantity: int | None = Field(default=None, ge=1, le=10**9, description="default: the subscription's")
    unit_price: Decimal | None = _Money
    term_months: int | None = Field(default=None, ge=1, le=999, description="a renewal's term; default: the "
                                    "subscription's")
    close_date: date | None = Field(default=None, description="the sales order's; default: when the current "
                                    "term ends (a renewal) or the effective date")
    notes: str | None = Field(default=None, max_length=255)


class ChangeOrderOut(BaseModel):
    id: int
    subscription_id: int
    order_type: str
    transaction_type: str
    effective_date: date
    quantity: int | None
    unit_price: Decimal | None
    status: str
    renewal_subscription_id: int | None
    sales_order_id: int | None
    notes: str | None
    sf_id: str | None
    created_at: datetime | str
    updated_at: datetime | str


class SalesOrderOut(BaseModel):
    id: int
    name: str
    subscription_id: int
    change_order_id: int | None
    account_id: str
    amount: Decimal | None
    close_date: date
    status: str
    sf_id: str | None
    created_at: datetime | str
    updated_at: datetime | str


class SalesOrderPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Decimal | None = _Money
    status: str | None = Field(default=None, description=", ".join(SALES_ORDER_STATUSES))
    close_date: date | None = None


class CreatedChangeOrderOut(BaseModel):
    change_order: ChangeOrderOut
    renewal_subscription: SubscriptionOut | None
    sales_order: SalesOrderOut | None


class RunOut(BaseModel):
    run_id: int
    flows: list[str]
    status: str
    written: int
    failed: int
    api_calls: int
    errors: dict[str, str]
    chained: list[RunOut]


def _engine(state: WebState) -> Any:
    return state.hub().engine


def _refused(error: RenewalError) -> HTTPException:
    codes = {"NOT_FOUND": status.HTTP_404_NOT_FOUND, "RENEWAL_EXISTS": status.HTTP_409_CONFLICT}
    return HTTPException(codes.get(error.code, status.HTTP_422_UNPROCESSABLE_CONTENT), detail=str(error))


def _run_out(report: RunReport) -> RunOut:
    return RunOut(run_id=report.run_id, flows=[r.flow for r in report.results], status=report.status,
                  written=report.written, failed=report.failed, api_calls=report.api_calls, errors=report.errors,
                  chained=[_run_out(child) for child in report.chained])


@router.post("/subscriptions", status_code=201, response_model=SubscriptionOut,
             responses={**AUTH_ERRORS, **HUB_ERRORS, **_INVALID})
def create_subscription(body: SubscriptionIn, _operator: OperatorDep, state: StateDep) -> Any:
    """Store a subscription of the customer whose Salesforce Account Id is ``account_id``."""
    try:
        return registry.create_subscription(_engine(state), NewSubscription(**body.model_dump()))
    except RenewalError as error:
        raise _refused(error) from None


@router.get("/subscriptions", response_model=list[SubscriptionOut], responses={**AUTH_ERRORS, **HUB_ERRORS})
def list_subscriptions(_viewer: ViewerDep, state: StateDep, account_id: str | None = Query(None, max_length=18),
                       subscription_status: str | None = Query(None, alias="status", max_length=40),
                       limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=10**9)) -> Any:
    """Subscriptions, newest first."""
    return registry.list_subscriptions(_engine(state), account_id=account_id, status=subscription_status,
                                       limit=limit, offset=offset)


@router.get("/subscriptions/{subscription_id}", response_model=SubscriptionOut,
            responses={**AUTH_ERRORS, **NOT_FOUND, **HUB_ERRORS})
def get_subscription(subscription_id: IdPath, _viewer: ViewerDep, state: StateDep) -> Any:
    try:
        return registry.get_subscription(_engine(state), subscription_id)
    except RenewalError as error:
        raise _refused(error) from None


@router.put("/subscriptions/{subscription_id}/account", response_model=SubscriptionOut,
            responses={**AUTH_ERRORS, **NOT_FOUND, **HUB_ERRORS, **_INVALID})
def move_account(subscription_id: IdPath, body: AccountIn, _operator: OperatorDep, state: StateDep) -> Any:
    """Give the subscription another customer Account (one Salesforce lacks, or a merged one): its draft
    renewals and their open sales orders move with it, and the flows send them at the next run."""
    try:
        return registry.move_account(_engine(state), subscription_id, body.account_id)
    except RenewalError as error:
        raise _refused(error) from None


@router.post("/change-orders", status_code=201, response_model=CreatedChangeOrderOut,
             responses={**AUTH_ERRORS, **NOT_FOUND, **HUB_ERRORS, **_EXISTS, **_INVALID})
def create_change_order(body: ChangeOrderIn, _operator: OperatorDep, state: StateDep) -> Any:
    """Store a change order. A renewal (transaction type Sales Order) also makes, in the same transaction, the
    draft renewal subscription for the next term and its sales order; a second renewal of a subscription whose
    renewal is open or completed is refused with 409."""
    engine = _engine(state)
    try:
        order = registry.create_change_order(engine, NewChangeOrder(**body.model_dump()))
    except RenewalError as error:
        if error.code == "RENEWAL_EXISTS":
            return JSONResponse({"detail": str(error), "existing_change_order_id": error.existing_id},
                                status_code=status.HTTP_409_CONFLICT)
        raise _refused(error) from None
    renewal = order["renewal_subscription_id"]
    sold = order["sales_order_id"]
    return {"change_order": order,
            "renewal_subscription": registry.get_subscription(engine, renewal) if renewal else None,
            "sales_order": registry.get_sales_order(engine, sold) if sold else None}


@router.get("/change-orders", response_model=list[ChangeOrderOut], responses={**AUTH_ERRORS, **HUB_ERRORS})
def list_change_orders(_viewer: ViewerDep, state: StateDep,
                       subscription_id: int | None = Query(None, ge=1, le=2**63 - 1),
                       limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=10**9)) -> Any:
    """Change orders, newest first; ``subscription_id`` also finds the one that made a renewal subscription."""
    return registry.list_change_orders(_engine(state), subscription_id=subscription_id, limit=limit, offset=offset)


@router.get("/change-orders/{change_order_id}", response_model=ChangeOrderOut,
            responses={**AUTH_ERRORS, **NOT_FOUND, **HUB_ERRORS})
def get_change_order(change_order_id: IdPath, _viewer: ViewerDep, state: StateDep) -> Any:
    try:
        return registry.get_change_order(_engine(state), change_order_id)
    except RenewalError as error:
        raise _refused(error) from None


@router.get("/sales-orders", response_model=list[SalesOrderOut], responses={**AUTH_ERRORS, **HUB_ERRORS})
def list_sales_orders(_viewer: ViewerDep, state: StateDep,
                      order_status: str | None = Query(None, alias="status", max_length=40),
                      limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=10**9)) -> Any:
    """Sales orders, newest first."""
    return registry.list_sales_orders(_engine(state), status=order_status, limit=limit, offset=offset)


@router.get("/sales-orders/{sales_order_id}", response_model=SalesOrderOut,
            responses={**AUTH_ERRORS, **NOT_FOUND, **HUB_ERRORS})
def get_sales_order(sales_order_id: IdPath, _viewer: ViewerDep, state: StateDep) -> Any:
    try:
        return registry.get_sales_order(_engine(state), sales_order_id)
    except RenewalError as error:
        raise _refused(error) from None


@router.patch("/sales-orders/{sales_order_id}", response_model=SalesOrderOut,
              responses={**AUTH_ERRORS, **NOT_FOUND, **HUB_ERRORS, **_INVALID})
def update_sales_order(sales_order_id: IdPath, body: SalesOrderPatch, _operator: OperatorDep,
                       state: StateDep) -> Any:
    """Change amount, status or close date (an explicit ``"amount": null`` empties the amount); the Opportunity
    follows at the next run of the sales order flow. Booked completes the change order; Cancelled cancels it
    and its draft renewal subscription."""
    given = body.model_dump(exclude_unset=True)
    change = SalesOrderChange(amount=given.get("amount"), status=given.get("status"),
                              close_date=given.get("close_date"),
                              unset=[name for name, value in given.items() if value is None])
    try:
        return registry.update_sales_order(_engine(state), sales_order_id, change)
    except RenewalError as error:
        raise _refused(error) from None


@router.post("/sync", response_model=RunOut, responses={**AUTH_ERRORS, **BUSY, **HUB_ERRORS, **NOT_FOUND})
def sync_renewals(_operator: OperatorDep, state: StateDep) -> RunOut:
    """Run the three renewal flows now, in chain order, so that an edit that does not start at the head (a sales
    order's amount) goes too; chained runs (``chained``) send what the first ones left. Answers when done."""
    config = state.hub_config()
    if not any(flow.name == SUBSCRIPTIONS for flow in config.flows):
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            detail="no flow named 'subscriptions': add the renewals recipe")
    report = state.runs.run_now(state.hub(), lambda hub: hub.sync(list(FLOW_NAMES)))
    return _run_out(report)
