"""The Contracts page: the approval queue (requests In Review with their file), approve and reject with a
comment, the other requests with their status, signature hook state and documents, and "run now".

Decisions go through the same functions as ``/api/contracts`` and are delivered to Salesforce by a contracts
round right away (the notice says when another run is going on and the next round sends them).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from salesbridge.flows.contracts import registry
from salesbridge.flows.contracts.decisions import approve, reject
from salesbridge.flows.contracts.registry import ContractError
from salesbridge.flows.contracts.runner import ContractsRun, contracts_settings, run_contracts
from salesbridge.flows.contracts.signature import mark_signed, send_for_signature
from salesbridge.store.web_models import Role
from salesbridge.web.api.contracts_api import deliver
from salesbridge.web.background import RunInProgress
from salesbridge.web.pages_common import OperatorPage, ViewerPage, redirect, render, web
from salesbridge.web.state import HubUnavailable

router = APIRouter(include_in_schema=False)
SHOWN = 200


@router.get("/contracts")
def contracts_page(request: Request, principal: ViewerPage) -> Response:
    state = web(request)
    try:
        engine = state.hub().engine
        requests = registry.list_requests(engine, limit=SHOWN)
        documents = {r["id"]: registry.documents(engine, r["id"]) for r in requests}
        configured = state.hub_config().contracts is not None
    except HubUnavailable as error:
        return render(request, "message.html", principal, status_code=503, title="The hub is not ready",
                      message=str(error))
    queue = sorted((r for r in requests if r["status"] == "In Review"), key=lambda r: r["id"])
    return render(request, "contracts.html", principal, title="Contracts", queue=queue, requests=requests,
                  documents=documents, can_decide=principal.has(Role.OPERATOR), configured=configured)


def _after(request: Request, done: str) -> Response:
    delivered, problem = deliver(web(request))
    if delivered:
        return redirect("/contracts", notice=f"{done} Salesforce is up to date.")
    return redirect("/contracts", notice=f"{done} Not sent to Salesforce yet ({problem}); the next round sends it.")


@router.post("/contracts/run")
def run_now(request: Request, principal: OperatorPage) -> Response:
    state = web(request)
    try:
        contracts_settings(state.hub_config())
        result = state.runs.run_now(state.hub(), run_contracts)  # type: ignore[arg-type]
    except RunInProgress as error:
        return redirect("/contracts", error=str(error))
    except Exception as error:  # noqa: BLE001 - no contracts flow, Salesforce down...: shown on the page
        return redirect("/contracts", error=f"Not run: {error}")
    summary: ContractsRun = result  # type: ignore[assignment] - run_now answers what the work answers
    text = (f"Round {summary.status}: {len(summary.pickup.picked_up)} picked up, {len(summary.pickup.failed)} "
            f"failed, {len(summary.sharing.linked)} documents shared, {summary.api_calls} API calls.")
    if summary.status == "succeeded":
        return redirect("/contracts", notice=text)
    return redirect("/contracts", error=text + " See the errors on the dashboard.")


@router.post("/contracts/{request_id}/decide")
async def decide(request_id: int, request: Request, principal: OperatorPage) -> Response:
    form = await request.form()
    decision, comment = str(form.get("decision") or ""), str(form.get("comment") or "").strip()
    try:
        engine = web(request).hub().engine
        if decision == "approve":
            approve(engine, request_id, principal.username, comment or None)
        elif decision == "reject":
            reject(engine, request_id, principal.username, comment)
        else:
            return redirect("/contracts", error="Choose approve or reject.")
    except (ContractError, HubUnavailable) as error:
        return redirect("/contracts", error=f"Request {request_id}: {error}")
    return _after(request, f"Request {request_id} {'approved' if decision == 'approve' else 'rejected'}.")


@router.post("/contracts/{request_id}/signature")
def signature(request_id: int, request: Request, principal: OperatorPage) -> Response:
    state = web(request)
    try:
        done = send_for_signature(state.hub().engine, request_id, contracts_settings(state.hub_config()))
    except (ContractError, HubUnavailable) as error:
        return redirect("/contracts", error=f"Request {request_id}: {error}")
    return _after(request, f"Request {request_id} is Out for Signature (webhook {done['webhook_state']}).")


@router.post("/contracts/{request_id}/signed")
async def signed(request_id: int, request: Request, principal: OperatorPage) -> Response:
    state = web(request)
    form = await request.form()
    upload = form.get("file")
    try:
        settings = contracts_settings(state.hub_config())
        content = None
        name = None
        if isinstance(upload, UploadFile) and upload.filename:
            content = await upload.read(settings.max_file_bytes + 1)
            name = upload.filename
        mark_signed(state.hub().engine, request_id, settings, name, content)
    except (ContractError, HubUnavailable) as error:
        return redirect("/contracts", error=f"Request {request_id}: {error}")
    return _after(request, f"Request {request_id} is Signed.")
