"""The record view: a linked record's two sides next to each other, its sync history, and "sync now".

The data comes from the REST API's record view (``/api/records/{flow}``), called as a function, so the page
and the API can never disagree about what a record looks like on either side.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from salesbridge.salesforce import SalesforceError
from salesbridge.store.web_models import Role
from salesbridge.web.api.common import hub_session
from salesbridge.web.api.records_api import record_view
from salesbridge.web.background import RunInProgress
from salesbridge.web.pages_common import OperatorPage, ViewerPage, redirect, render, web
from salesbridge.web.queries import list_links
from salesbridge.web.state import HubUnavailable

router = APIRouter(include_in_schema=False)
LINKS_SHOWN = 50


def _record_url(flow: str, app_key: str | None, sf_id: str | None) -> str:
    query = urlencode({"app_key": app_key} if app_key else {"sf_id": sf_id or ""})
    return f"/records/{quote(flow, safe='')}?{query}"


@router.get("/records")
def records_index(request: Request, principal: ViewerPage, flow: str | None = None) -> Response:
    """Pick a flow and a record: by app key or Salesforce Id, or from the flow's latest links."""
    state = web(request)
    try:
        config = state.hub_config()
    except HubUnavailable as error:
        return render(request, "message.html", principal, status_code=503, title="The hub is not ready",
                      message=str(error))
    names = [f.name for f in config.flows]
    chosen = flow if flow in names else (names[0] if names else None)
    links = []
    if chosen is not None:
        try:
            with hub_session(state) as session:
                links = list_links(session, chosen, limit=LINKS_SHOWN)
        except HubUnavailable as error:
            return render(request, "message.html", principal, status_code=503, title="The hub is not ready",
                          message=str(error))
    return render(request, "records.html", principal, title="Records", flows=config.flows, chosen=chosen,
                  links=links)


@router.get("/record")
def find_record(request: Request, principal: ViewerPage, flow: str = "", app_key: str = "",
                sf_id: str = "") -> Response:
    """The "open the record" form: to the record view, or back to the list when nothing was typed."""
    if not flow or not (app_key.strip() or sf_id.strip()):
        return redirect(f"/records?{urlencode({'flow': flow})}", error="Type an app key or a Salesforce Id.")
    return redirect(_record_url(flow, app_key.strip() or None, sf_id.strip() or None))


@router.get("/records/{flow}")
def record_page(flow: str, request: Request, principal: ViewerPage, app_key: str | None = None,
                sf_id: str | None = None) -> Response:
    state = web(request)
    app_key = app_key.strip() if app_key and app_key.strip() else None
    sf_id = sf_id.strip() if sf_id and sf_id.strip() else None
    try:
        view = record_view(principal, state, flow=flow, app_key=app_key, sf_id=sf_id)
        flow_config = state.hub_config().flow(flow)
    except HTTPException as error:
        return render(request, "message.html", principal, status_code=error.status_code,
                      title="No such record", message=str(error.detail),
                      link=("/records", "Find another record"))
    except (HubUnavailable, SalesforceError, OSError) as error:
        return render(request, "message.html", principal, status_code=502, title="The record cannot be read",
                      message=str(error), link=("/records", "Find another record"))
    return render(request, "record.html", principal, title=f"{flow}: {view.app_key or view.sf_id}", view=view,
                  flow=flow_config, can_run=principal.has(Role.OPERATOR),
                  back=_record_url(flow, view.app_key, view.sf_id))


@router.post("/records/{flow}/sync")
async def record_sync(flow: str, request: Request, principal: OperatorPage) -> Response:
    """Sync this record now (in the request: one record takes a few API calls), then show it again."""
    state = web(request)
    form = await request.form()
    app_key = form.get("app_key") if isinstance(form.get("app_key"), str) and form.get("app_key") else None
    sf_id = form.get("sf_id") if isinstance(form.get("sf_id"), str) and form.get("sf_id") else None
    back = _record_url(flow, app_key, sf_id)
    try:
        state.hub_config().flow(flow)
        sync_key = {"app_key": app_key} if app_key else {"sf_id": sf_id}
        report = state.runs.run_now(state.hub(), lambda hub: hub.sync_record(flow, **sync_key))
    except RunInProgress as error:
        return redirect(back, error=str(error))
    except Exception as error:  # noqa: BLE001 - no config, Salesforce down...: shown on the page, not a 500
        return redirect(back, error=f"Not synced: {error}")
    if report.errors or report.failed:
        problem = "; ".join(report.errors.values()) or f"{report.failed} record failed: see the history below"
        return redirect(back, error=f"Run {report.run_id}: {problem}")
    return redirect(back, notice=f"Synced now (run {report.run_id}): {report.written} written.")
