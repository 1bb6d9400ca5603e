"""The Pipeline page: the lead tool's leads, companies and contacts with their Salesforce twins, the lifecycle
events both ways (won, lost, deleted, transferred...), the open errors, and forms to add, move, transfer and
delete records and to sync now.

Writes go through the same registry as ``/api/pipeline``, so the page and the API refuse the same values.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from salesbridge.flows.pipeline import registry
from salesbridge.flows.pipeline.recipe import FLOWS, STAGES
from salesbridge.flows.pipeline.registry import EDITABLE, PipelineError
from salesbridge.store.web_models import Role
from salesbridge.web.background import RunInProgress
from salesbridge.web.pages_common import OperatorPage, ViewerPage, redirect, render, web
from salesbridge.web.state import HubUnavailable

router = APIRouter(include_in_schema=False)
SHOWN = 200
EVENTS_SHOWN = 50
_KINDS = ("companies", "contacts", "leads")


@router.get("/pipeline")
def pipeline_page(request: Request, principal: ViewerPage) -> Response:
    state = web(request)
    try:
        engine = state.hub().engine
        records = {kind: registry.list_records(engine, kind, limit=SHOWN) for kind in _KINDS}  # type: ignore[arg-type]
        events = registry.events(engine, limit=EVENTS_SHOWN)
        errors = registry.open_errors(engine)
        configured = {flow.name for flow in state.hub_config().flows}
    except HubUnavailable as error:
        return render(request, "message.html", principal, status_code=503, title="The hub is not ready",
                      message=str(error))
    companies = {row["id"]: row["name"] for row in records["companies"]}
    return render(request, "pipeline.html", principal, title="Pipeline", records=records, events=events,
                  errors=errors, stages=STAGES, companies=companies, can_run=principal.has(Role.OPERATOR),
                  flow_configured=all(name in configured for name in FLOWS))


def _form_values(form: Any, kind: str) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for column in EDITABLE[kind]:
        if column in form:
            text = str(form.get(column) or "").strip()
            values[column] = (int(text) if text.isdigit() else text) if column == "company_id" else text
            if values[column] == "":
                values[column] = None
    return values


@router.post("/pipeline/{kind}")
async def add_record(kind: str, request: Request, principal: OperatorPage) -> Response:
    if kind not in _KINDS:
        return redirect("/pipeline", error=f"No record kind '{kind}'.")
    form = await request.form()
    try:
        created = registry.create(web(request).hub().engine, kind, _form_values(form, kind))  # type: ignore[arg-type]
    except (PipelineError, HubUnavailable) as error:
        return redirect("/pipeline", error=f"Not added: {error}")
    return redirect("/pipeline", notice=f"{kind.capitalize()[:-1].replace('Companie', 'Company')} "
                    f"{created['id']} added.")


@router.post("/pipeline/{kind}/{record_id}")
async def change_record(kind: str, record_id: int, request: Request, principal: OperatorPage) -> Response:
    """Move a lead to another stage or transfer it; the form sends the columns it changes."""
    if kind not in _KINDS:
        return redirect("/pipeline", error=f"No record kind '{kind}'.")
    form = await request.form()
    try:
        changed = registry.change(web(request).hub().engine, kind, record_id,  # type: ignore[arg-type]
                                  _form_values(form, kind))
    except (PipelineError, HubUnavailable) as error:
        return redirect("/pipeline", error=str(error))
    what = f"is {changed['stage']}, owned by {changed['owner_email'] or 'the default owner'}" if kind == "leads" \
        else "saved"
    return redirect("/pipeline", notice=f"{kind[:-1].replace('compani', 'company').capitalize()} {record_id} {what}.")


@router.post("/pipeline/{kind}/{record_id}/delete")
def delete_record(kind: str, record_id: int, request: Request, principal: OperatorPage) -> Response:
    if kind not in _KINDS:
        return redirect("/pipeline", error=f"No record kind '{kind}'.")
    try:
        registry.remove(web(request).hub().engine, kind, record_id)  # type: ignore[arg-type]
    except (PipelineError, HubUnavailable) as error:
        return redirect("/pipeline", error=str(error))
    return redirect("/pipeline", notice=f"{kind[:-1].replace('compani', 'company').capitalize()} {record_id} "
                    "deleted; Salesforce follows at the next sync.")


@router.post("/pipeline-sync")
def sync_now(request: Request, principal: OperatorPage) -> Response:
    """The "sync now" button: the three pipeline flows, in the request."""
    state = web(request)
    try:
        for name in FLOWS:
            state.hub_config().flow(name)
        report = state.runs.run_now(state.hub(), lambda hub: hub.sync(list(FLOWS)))
    except RunInProgress as error:
        return redirect("/pipeline", error=str(error))
    except Exception as error:  # noqa: BLE001 - no pipeline flows, Salesforce down...: shown on the page
        return redirect("/pipeline", error=f"Not synced: {error}")
    if report.errors:
        return redirect("/pipeline", error=f"Run {report.run_id}: {'; '.join(report.errors.values())}")
    failed = f", {report.failed} failed (see the errors below)" if report.failed else ""
    return redirect("/pipeline", notice=f"Pipeline synced (run {report.run_id}): {report.written} written{failed}.")
