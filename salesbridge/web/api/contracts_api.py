"""``/api/contracts``: the contract request approval queue and its decisions, documents, signature hook.

Viewers read requests, documents and profiles; operators run a round, approve, reject, send for signature
and report signatures (an e-signature service calls ``/signed`` with an operator API token). A decision is
saved first and then delivered to Salesforce in the same request by a contracts round; when another run is
going on, ``delivered`` is false and the next round sends it.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, File, HTTPException, Query, UploadFile, status
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from salesbridge.flows.contracts import registry
from salesbridge.flows.contracts.decisions import approve, reject
from salesbridge.flows.contracts.recipe import STATUSES
from salesbridge.flows.contracts.registry import ContractError
from salesbridge.flows.contracts.runner import ContractsRun, contracts_settings, run_contracts
from salesbridge.flows.contracts.signature import mark_signed, send_for_signature
from salesbridge.web.api.common import AUTH_ERRORS, BUSY, HUB_ERRORS, NOT_FOUND, IdPath
from salesbridge.web.auth import OperatorDep, StateDep, ViewerDep
from salesbridge.web.background import RunInProgress
from salesbridge.web.schemas import Problem
from salesbridge.web.state import WebState

router = APIRouter(tags=["contracts"])
_STATUS = {422: {"model": Problem, "description": "the request is not in a status this step starts from"}}
_LARGE = {413: {"model": Problem, "description": "the file is larger than contracts.max_file_bytes"}}


class DocumentOut(BaseModel):
    id: int
    request_id: int
    contract_profile_id: int | None
    kind: str = Field(description="submitted (from Salesforce) or signed (reported to the hub)")
    file_name: str
    size: int
    checksum: str = Field(description="SHA-256 of the bytes, hex")
    sf_content_document_id: str | None
    sf_content_version_id: str | None
    sf_opportunity_link_id: str | None
    shared_at: datetime | None


class RequestOut(BaseModel):
    id: int
    sf_id: str | None
    name: str | None
    opportunity_id: str | None
    account_id: str | None
    contract_type: str | None
    start_date: date | None
    end_date: date | None
    contract_value: Decimal | None
    status: str | None
    reviewer_comment: str | None
    company_account_id: str | None
    company_name: str | None
    picked_up_at: datetime | None
    reviewer: str | None
    decided_at: datetime | None
    company_profile_id: int | None
    webhook_state: str | None = Field(description="pending, delivered, failed or none (no webhook configured)")
    webhook_error: str | None
    webhook_attempts: int | None
    signed_at: datetime | None


class CompanyOut(BaseModel):
    id: int
    sf_account_id: str
    name: str | None


class ProfileOut(BaseModel):
    id: int
    company_profile_id: int
    sf_opportunity_id: str | None
    contract_type: str | None
    start_date: date | None
    end_date: date | None
    contract_value: Decimal | None
    status: str
    company: CompanyOut


class RequestDetail(RequestOut):
    documents: list[DocumentOut]
    contract_profile: ProfileOut | None


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: str | None = Field(default=None, max_length=32000, description="shown on the request in Salesforce")


class RejectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: str = Field(min_length=1, max_length=32000, description="why: shown on the request in Salesforce")


class RoundOut(BaseModel):
    status: str = Field(description="succeeded, partial (some requests failed: see /api/errors) or failed")
    run_ids: list[int]
    picked_up: list[int] = Field(description="request ids now In Review")
    failed: dict[int, str] = Field(description="request id: error code of the pickup")
    documents_shared: list[int]
    documents_uploaded: list[int]
    sync_failed: int
    api_calls: int
    errors: dict[str, str]


class DecisionOut(BaseModel):
    request: RequestDetail
    delivered: bool = Field(description="sent to Salesforce already; false: at the next contracts round")
    delivery_error: str | None = None


def _round(result: ContractsRun) -> RoundOut:
    return RoundOut(status=result.status, run_ids=result.run_ids, picked_up=result.pickup.picked_up,
                    failed=result.pickup.failed, documents_shared=result.sharing.linked,
                    documents_uploaded=result.sharing.uploaded, sync_failed=result.sync_failed,
                    api_calls=result.api_calls, errors=result.errors)


def _refused(error: ContractError) -> HTTPException:
    codes = {"NOT_FOUND": status.HTTP_404_NOT_FOUND, "FILE_TOO_LARGE": status.HTTP_413_CONTENT_TOO_LARGE}
    return HTTPException(codes.get(error.code, status.HTTP_422_UNPROCESSABLE_CONTENT),
                         detail=f"{error.code}: {error}")


def detail(state: WebState, request_id: int) -> dict[str, Any]:
    engine = state.hub().engine
    try:
        request = registry.get(engine, request_id)
    except ContractError as error:
        raise _refused(error) from None
    return {**request, "documents": registry.documents(engine, request_id),
            "contract_profile": registry.profile_of(engine, request_id)}


def deliver(state: WebState) -> tuple[bool, str | None]:
    """Run a contracts round now, so that a decision reaches Salesforce; never undoes the decision."""
    try:
        result = state.runs.run_now(state.hub(), run_contracts)  # type: ignore[arg-type, return-value]
    except RunInProgress as busy:
        return False, str(busy)
    except Exception as error:  # noqa: BLE001 - Salesforce down...: the decision stands, the next round sends it
        return False, f"{type(error).__name__}: {error}"
    problems = "; ".join(result.errors.values()) if result.errors else None  # type: ignore[attr-defined]
    return problems is None, problems


@router.get("/contracts", response_model=list[RequestOut], responses={**AUTH_ERRORS, **HUB_ERRORS})
def list_requests(_viewer: ViewerDep, state: StateDep,
                  request_status: str | None = Query(None, alias="status", description=", ".join(STATUSES)),
                  limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=10**9)) -> Any:
    """Contract requests in the hub, newest first, optionally of one status."""
    return registry.list_requests(state.hub().engine, status=request_status, limit=limit, offset=offset)


@router.get("/contracts/queue", response_model=list[RequestOut], responses={**AUTH_ERRORS, **HUB_ERRORS})
def approval_queue(_viewer: ViewerDep, state: StateDep, limit: int = Query(100, ge=1, le=1000)) -> Any:
    """The approval queue: requests In Review, oldest first (first come, first decided)."""
    requests = registry.list_requests(state.hub().engine, status="In Review", limit=limit)
    return sorted(requests, key=lambda r: r["id"])


@router.post("/contracts/run", response_model=RoundOut, responses={**AUTH_ERRORS, **BUSY, **HUB_ERRORS})
def run_round(_operator: OperatorDep, state: StateDep) -> RoundOut:
    """Run a contracts round now: sync, pick up submitted requests, share documents, sync again."""
    contracts_settings(state.hub_config())
    return _round(state.runs.run_now(state.hub(), run_contracts))  # type: ignore[arg-type]


@router.get("/contracts/{request_id}", response_model=RequestDetail,
            responses={**AUTH_ERRORS, **NOT_FOUND, **HUB_ERRORS})
def get_request(request_id: IdPath, _viewer: ViewerDep, state: StateDep) -> Any:
    """One request with its documents (without their bytes) and its contract profile."""
    return detail(state, request_id)


@router.get("/contracts/{request_id}/documents/{document_id}", response_class=Response,
            responses={**AUTH_ERRORS, **NOT_FOUND, **HUB_ERRORS,
                       200: {"content": {"application/octet-stream": {}}, "description": "the file"}})
def download_document(request_id: IdPath, document_id: IdPath, _viewer: ViewerDep, state: StateDep) -> Response:
    """The bytes of a document, as stored (the checksum header is its SHA-256)."""
    try:
        meta, content = registry.document_content(state.hub().engine, request_id, document_id)
    except ContractError as error:
        raise _refused(error) from None
    safe_name = "".join(c if c.isalnum() or c in "._- " else "_" for c in meta["file_name"])
    return Response(content, media_type="application/octet-stream",
                    headers={"Content-Disposition": f'attachment; filename="{safe_name}"',
                             "X-Checksum-SHA256": meta["checksum"]})


def _decided(state: WebState, request_id: int) -> DecisionOut:
    delivered, problem = deliver(state)
    return DecisionOut(request=RequestDetail(**detail(state, request_id)), delivered=delivered,
                       delivery_error=problem)


@router.post("/contracts/{request_id}/approve", response_model=DecisionOut,
             responses={**AUTH_ERRORS, **NOT_FOUND, **HUB_ERRORS, **_STATUS})
def approve_request(request_id: IdPath, body: DecisionIn, operator: OperatorDep, state: StateDep) -> DecisionOut:
    """Approve a request In Review: Company Profile (when new) and Contract Profile made, document attached."""
    try:
        approve(state.hub().engine, request_id, operator.username, body.comment)
    except ContractError as error:
        raise _refused(error) from None
    return _decided(state, request_id)


@router.post("/contracts/{request_id}/reject", response_model=DecisionOut,
             responses={**AUTH_ERRORS, **NOT_FOUND, **HUB_ERRORS, **_STATUS})
def reject_request(request_id: IdPath, body: RejectIn, operator: OperatorDep, state: StateDep) -> DecisionOut:
    """Reject a request In Review with a comment; no profile is made."""
    try:
        reject(state.hub().engine, request_id, operator.username, body.comment)
    except ContractError as error:
        raise _refused(error) from None
    return _decided(state, request_id)


@router.post("/contracts/{request_id}/signature", response_model=DecisionOut,
             responses={**AUTH_ERRORS, **NOT_FOUND, **HUB_ERRORS, **_STATUS})
def send_to_signature(request_id: IdPath, _operator: OperatorDep, state: StateDep) -> DecisionOut:
    """Move an Approved request Out for Signature and POST the webhook; on a failed webhook, POST it again."""
    try:
        send_for_signature(state.hub().engine, request_id, contracts_settings(state.hub_config()))
    except ContractError as error:
        raise _refused(error) from None
    return _decided(state, request_id)


@router.post("/contracts/{request_id}/signed", response_model=DecisionOut,
             responses={**AUTH_ERRORS, **NOT_FOUND, **HUB_ERRORS, **_STATUS, **_LARGE})
async def signed(request_id: IdPath, _operator: OperatorDep, state: StateDep,
                 file: UploadFile | None = File(None, description="the signed contract (optional)")) -> DecisionOut:
    """The signature came back: Signed; the signed file (multipart field ``file``) is kept and sent to
    Salesforce on the Opportunity."""
    settings = contracts_settings(state.hub_config())
    content = None
    if file is not None:
        content = await file.read(settings.max_file_bytes + 1)
    try:
        mark_signed(state.hub().engine, request_id, settings, file.filename if file else None, content)
    except ContractError as error:
        raise _refused(error) from None
    return _decided(state, request_id)
