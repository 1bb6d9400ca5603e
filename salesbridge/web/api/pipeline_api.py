"""``/api/pipeline``: the lead pipeline tool's companies, contacts and leads, their lifecycle events and errors.

Writes go through the tool's registry (as the tool itself writes), so the pipeline flows send them at the next
run, or at once with ``POST /api/pipeline/sync``. Viewers read; operators write and sync.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from fastapi import APIRouter, HTTPException, Query, status
from pydantic import BaseModel, ConfigDict, Field

from salesbridge.flows.pipeline import registry
from salesbridge.flows.pipeline.recipe import FLOWS, STAGES
from salesbridge.flows.pipeline.registry import PipelineError
from salesbridge.web.api.common import AUTH_ERRORS, BUSY, HUB_ERRORS, NOT_FOUND, IdPath
from salesbridge.web.auth import OperatorDep, StateDep, ViewerDep
from salesbridge.web.state import WebState

router = APIRouter(tags=["pipeline"])
_INVALID = {422: {"description": "a value the tool refuses (not a stage, a required column missing...)"}}


class Kind(StrEnum):
    COMPANIES = "companies"
    CONTACTS = "contacts"
    LEADS = "leads"


class RecordIn(BaseModel):
    """Columns of a company, contact or lead; only those of the kind may be given (others are refused)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=255, description="companies")
    website: str | None = Field(default=None, max_length=255, description="companies")
    company_id: int | None = Field(default=None, ge=1, description="contacts: the company's id")
    first_name: str | None = Field(default=None, max_length=40)
    last_name: str | None = Field(default=None, max_length=80)
    company: str | None = Field(default=None, max_length=255, description="leads: the company's name")
    email: str | None = Field(default=None, max_length=80, pattern=r"^[^@\s]+@[^@\s]+$")
    phone: str | None = Field(default=None, max_length=40)
    title: str | None = Field(default=None, max_length=128)
    stage: str | None = Field(default=None, max_length=40, description=f"leads: one of {', '.join(STAGES)}")
    owner_email: str | None = Field(default=None, max_length=80, pattern=r"^[^@\s]+@[^@\s]+$",
                                    description="leads: the owner's Salesforce username or email (transfer)")


class _Twin(BaseModel):
    """What every record answers besides its columns: its Salesforce twin (a won lead lives on its Contact)."""

    model_config = ConfigDict(extra="forbid")

    id: int
    sf_id: str | None = Field(description="the Salesforce Id the row keeps (the record it was last synced with)")
    sf_object: str | None = Field(description="the object of the linked record (Account, Contact, Lead)")
    linked_id: str | None = Field(description="the Id of the linked record, none before the first sync")
    created_at: datetime | str | None
    updated_at: datetime | str | None


class CompanyOut(_Twin):
    name: str
    website: str | None
    phone: str | None


class ContactOut(_Twin):
    company_id: int | None
    first_name: str | None
    last_name: str
    email: str | None
    phone: str | None
    title: str | None


class LeadOut(_Twin):
    first_name: str | None
    last_name: str
    company: str
    email: str | None
    phone: str | None
    title: str | None
    stage: str = Field(description=f"one of {', '.join(STAGES)}")
    owner_email: str | None


RecordOut = CompanyOut | ContactOut | LeadOut


class EventOut(BaseModel):
    id: int
    run_id: int | None
    flow: str
    kind: str = Field(description="created, updated, deleted, converted, won, lost, owner_changed")
    record_id: int | None
    sf_id: str | None
    origin: str | None = Field(description="app (the tool) or salesforce: the side the change was made on")
    details: dict[str, Any]
    created_at: datetime | str


class ErrorOut(BaseModel):
    id: int
    flow: str
    direction: str
    operation: str
    record_id: str | None
    sf_id: str | None
    error_code: str
    message: str


class SyncOut(BaseModel):
    run_id: int
    status: str
    written: int
    failed: int
    api_calls: int
    errors: dict[str, str]


def _engine(state: WebState) -> Any:
    return state.hub().engine


def _refused(error: PipelineError) -> HTTPException:
    codes = {"NOT_FOUND": status.HTTP_404_NOT_FOUND, "ALREADY_CONVERTED": status.HTTP_409_CONFLICT}
    code = codes.get(error.code, status.HTTP_422_UNPROCESSABLE_CONTENT)
    return HTTPException(code, detail=f"{error.code}: {error}")


@router.get("/pipeline/events", response_model=list[EventOut], responses={**AUTH_ERRORS, **HUB_ERRORS})
def list_events(_viewer: ViewerDep, state: StateDep, kind: Kind | None = None,
                record_id: int | None = Query(None, ge=1, le=2**63 - 1),
                event: list[str] | None = Query(None, max_length=20, description="event kinds, e.g. won, lost"),
                limit: int = Query(100, ge=1, le=1000)) -> Any:
    """Lifecycle events of the pipeline (won, lost, deleted, owner_changed...), newest first, with their origin."""
    if record_id is not None and kind is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail="record_id needs kind")
    return registry.events(_engine(state), kind=kind.value if kind else None, record_id=record_id,
                           event_kinds=event, limit=limit)


@router.get("/pipeline/errors", response_model=list[ErrorOut], responses={**AUTH_ERRORS, **HUB_ERRORS})
def list_errors(_viewer: ViewerDep, state: StateDep, limit: int = Query(100, ge=1, le=1000)) -> Any:
    """Open record errors of the pipeline flows (retry them with ``POST /api/errors/retry``)."""
    return registry.open_errors(_engine(state), limit=limit)


@router.post("/pipeline/sync", response_model=SyncOut, responses={**AUTH_ERRORS, **BUSY, **HUB_ERRORS})
def sync_pipeline(_operator: OperatorDep, state: StateDep) -> SyncOut:
    """Run the three pipeline flows now (companies, contacts, leads) and answer when done."""
    configured = {flow.name for flow in state.hub_config().flows}
    missing = [name for name in FLOWS if name not in configured]
    if missing:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no flow named {', '.join(missing)}: add the "
                            "pipeline recipe")
    report = state.runs.run_now(state.hub(), lambda hub: hub.sync(list(FLOWS)))
    return SyncOut(run_id=report.run_id, status=report.status, written=report.written, failed=report.failed,
                   api_calls=report.api_calls, errors=report.errors)


@router.get("/pipeline/{kind}", response_model=list[RecordOut], responses={**AUTH_ERRORS, **HUB_ERRORS})
def list_records(kind: Kind, _viewer: ViewerDep, state: StateDep,
                 stage: str | None = Query(None, max_length=40, description="leads of this stage"),
                 owner_email: str | None = Query(None, max_length=80, description="leads of this owner"),
                 limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=10**9)) -> Any:
    """Companies, contacts or leads, newest first, each with its Salesforce twin."""
    return registry.list_records(_engine(state), kind.value, stage=stage, owner_email=owner_email,  # type: ignore[arg-type]
                                 limit=limit, offset=offset)


@router.post("/pipeline/{kind}", status_code=201, response_model=RecordOut,
             responses={**AUTH_ERRORS, **HUB_ERRORS, **NOT_FOUND, **_INVALID})
def create_record(kind: Kind, body: RecordIn, _operator: OperatorDep, state: StateDep) -> Any:
    """Add a record as the tool would; it goes to Salesforce at the next run (owned by the default sales
    manager unless a lead names its owner)."""
    try:
        return registry.create(_engine(state), kind.value, body.model_dump(exclude_unset=True))  # type: ignore[arg-type]
    except PipelineError as error:
        raise _refused(error) from None


@router.get("/pipeline/{kind}/{record_id}", response_model=RecordOut,
            responses={**AUTH_ERRORS, **NOT_FOUND, **HUB_ERRORS})
def get_record(kind: Kind, record_id: IdPath, _viewer: ViewerDep, state: StateDep) -> Any:
    try:
        return registry.get(_engine(state), kind.value, record_id)  # type: ignore[arg-type]
    except PipelineError as error:
        raise _refused(error) from None


@router.patch("/pipeline/{kind}/{record_id}", response_model=RecordOut,
              responses={**AUTH_ERRORS, **NOT_FOUND, **HUB_ERRORS, **_INVALID,
                         409: {"description": "a won lead's Lead was converted: it cannot leave Won"}})
def change_record(kind: Kind, record_id: IdPath, body: RecordIn, _operator: OperatorDep, state: StateDep) -> Any:
    """Edit a record: move a lead to another stage (Won converts its Lead), transfer it (``owner_email``)..."""
    try:
        return registry.change(_engine(state), kind.value, record_id,  # type: ignore[arg-type]
                               body.model_dump(exclude_unset=True))
    except PipelineError as error:
        raise _refused(error) from None


@router.delete("/pipeline/{kind}/{record_id}", status_code=204,
               responses={**AUTH_ERRORS, **NOT_FOUND, **HUB_ERRORS})
def delete_record(kind: Kind, record_id: IdPath, _operator: OperatorDep, state: StateDep) -> None:
    """Delete a record; the flow deletes its twin in Salesforce at the next run."""
    try:
        registry.remove(_engine(state), kind.value, record_id)  # type: ignore[arg-type]
    except PipelineError as error:
        raise _refused(error) from None
