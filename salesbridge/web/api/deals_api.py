"""``/api/deals``: partner deal registration (register, list, read, change status, sync now, import).

Partners register through API tokens of the *operator* role (``salesbridge users add acme --role operator`` and
``salesbridge users token acme``): registering writes, which viewers may not. Viewers read deals.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from salesbridge.flows.deals import registry
from salesbridge.flows.deals.importer import import_opportunities
from salesbridge.flows.deals.recipe import FLOW_NAME, STATUSES
from salesbridge.flows.deals.registry import DealError, NewDeal
from salesbridge.salesforce import SalesforceError
from salesbridge.web.api.common import AUTH_ERRORS, BUSY, HUB_ERRORS, NOT_FOUND, IdPath
from salesbridge.web.auth import OperatorDep, StateDep, ViewerDep
from salesbridge.web.schemas import Problem
from salesbridge.web.state import WebState

router = APIRouter(tags=["deals"])
_DUPLICATE = {409: {"model": Problem, "description": "a duplicate registration (the existing deal is named)"}}
_STATUS = {422: {"description": "not a deal status, or not one a new deal may have"}}


class DealIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    partner: str = Field(min_length=1, max_length=100)
    partner_deal_id: str = Field(min_length=1, max_length=100, description="unique per partner")
    company: str = Field(min_length=1, max_length=255)
    end_user_first_name: str | None = Field(default=None, max_length=40)
    end_user_last_name: str = Field(min_length=1, max_length=80)
    end_user_email: str | None = Field(default=None, max_length=80, pattern=r"^[^@\s]+@[^@\s]+$")
    title: str = Field(min_length=1, max_length=120)
    amount: Decimal | None = Field(default=None, ge=0, le=Decimal("9999999999999999"), decimal_places=2)
    close_date: date | None = None
    status: str = Field(default="Submitted", description="Draft or Submitted")


class DealOut(BaseModel):
    id: int
    partner: str
    partner_deal_id: str
    company: str
    end_user_first_name: str | None
    end_user_last_name: str
    end_user_email: str | None
    title: str
    amount: Decimal | None
    close_date: date | None
    status: str
    sf_id: str | None
    sf_object: str | None
    created_at: datetime | str
    updated_at: datetime | str


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: str = Field(description=f"one of {', '.join(STATUSES)}")


class DealSyncOut(BaseModel):
    run_id: int
    status: str
    written: int
    failed: int
    errors: dict[str, str]
    deal: DealOut


class ImportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    partner: str = Field(min_length=1, max_length=100)
    where: str = Field(min_length=1, max_length=2000, description="a SOQL condition on Opportunity")


class ImportOut(BaseModel):
    imported: dict[str, int] = Field(description="Opportunity Id: deal id")
    already_linked: list[str]
    skipped: dict[str, str] = Field(description="Opportunity Id: why")


def _engine(state: WebState) -> Any:
    return state.hub().engine


def _refused(error: DealError) -> HTTPException:
    codes = {"NOT_FOUND": status.HTTP_404_NOT_FOUND, "DUPLICATE_DEAL": status.HTTP_409_CONFLICT}
    return HTTPException(codes.get(error.code, status.HTTP_422_UNPROCESSABLE_CONTENT), detail=str(error))


@router.post("/deals", status_code=201, response_model=DealOut,
             responses={**AUTH_ERRORS, **HUB_ERRORS, **_DUPLICATE, **_STATUS})
def register_deal(body: DealIn, _operator: OperatorDep, state: StateDep) -> Any:
    """Register a deal. The same partner deal id twice, or the same end user email at the same company among
    open deals, is refused with 409 naming the deal already registered (``existing_deal_id``)."""
    try:
        return registry.register(_engine(state), NewDeal(**body.model_dump()))
    except DealError as error:
        if error.code == "DUPLICATE_DEAL":
            return JSONResponse({"detail": str(error), "existing_deal_id": error.existing_id},
                                status_code=status.HTTP_409_CONFLICT)
        raise _refused(error) from None


@router.get("/deals", response_model=list[DealOut], responses={**AUTH_ERRORS, **HUB_ERRORS})
def list_deals(_viewer: ViewerDep, state: StateDep, partner: str | None = Query(None, max_length=100),
               deal_status: str | None = Query(None, alias="status", max_length=40),
               limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=10**9)) -> Any:
    """Deals, newest first, optionally of one partner or status."""
    return registry.list_deals(_engine(state), partner=partner, status=deal_status, limit=limit, offset=offset)


@router.get("/deals/{deal_id}", response_model=DealOut, responses={**AUTH_ERRORS, **NOT_FOUND, **HUB_ERRORS})
def get_deal(deal_id: IdPath, _viewer: ViewerDep, state: StateDep) -> Any:
    try:
        return registry.get(_engine(state), deal_id)
    except DealError as error:
        raise _refused(error) from None


@router.put("/deals/{deal_id}/status", response_model=DealOut,
            responses={**AUTH_ERRORS, **NOT_FOUND, **HUB_ERRORS, **_STATUS})
def set_deal_status(deal_id: IdPath, body: StatusIn, _operator: OperatorDep, state: StateDep) -> Any:
    """Approve, reject... a deal. It is sent at the next run when its status is one the recipe's sync_on sends."""
    try:
        return registry.set_status(_engine(state), deal_id, body.status)
    except DealError as error:
        raise _refused(error) from None


@router.post("/deals/{deal_id}/sync", response_model=DealSyncOut,
             responses={**AUTH_ERRORS, **NOT_FOUND, **BUSY, **HUB_ERRORS})
def sync_deal(deal_id: IdPath, _operator: OperatorDep, state: StateDep) -> Any:
    """Sync this deal now (the manual button), and answer when done."""
    config = state.hub_config()
    if not any(flow.name == FLOW_NAME for flow in config.flows):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no flow named 'deals': add the deal recipe")
    try:
        registry.get(_engine(state), deal_id)
    except DealError as error:
        raise _refused(error) from None
    report = state.runs.run_now(state.hub(), lambda hub: hub.sync_record(FLOW_NAME, app_key=str(deal_id)))
    registry.record_salesforce_objects(_engine(state))
    return DealSyncOut(run_id=report.run_id, status=report.status, written=report.written, failed=report.failed,
                       errors=report.errors, deal=DealOut(**registry.get(_engine(state), deal_id)))


@router.post("/deals/import", response_model=ImportOut,
             responses={**AUTH_ERRORS, **HUB_ERRORS, 422: {"description": "the condition is not valid SOQL"}})
def import_deals(body: ImportIn, _operator: OperatorDep, state: StateDep) -> ImportOut:
    """Import the Opportunities matching ``where`` as deals of ``partner``, linked to them."""
    try:
        result = import_opportunities(_engine(state), state.hub().client, body.partner, body.where)
    except SalesforceError as error:
        if error.status == 400:  # Salesforce refused the query itself: the condition is the caller's
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                                detail=f"where: {error.error_code}: {error.message}") from None
        raise
    return ImportOut(imported=result.imported, already_linked=result.already_linked, skipped=result.skipped)
