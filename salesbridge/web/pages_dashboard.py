"""The dashboard: last runs per flow, the live view of a running sync, errors with retry, conflicts and the
remaining API budget.

Starting a sync or a retry goes through the same background runner as the REST API (one run at a time per
process) and comes straight back; the live panel then polls ``/live`` until the run ends and reloads the page.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from salesbridge.salesforce import SalesforceError
from salesbridge.store import repository as repo
from salesbridge.store.models import Run
from salesbridge.store.web_models import Role
from salesbridge.web.api.common import hub_session
from salesbridge.web.api.settings_api import budget as read_budget
from salesbridge.web.auth import Principal
from salesbridge.web.background import RunDidNotStart, RunInProgress, retry_work, sync_work
from salesbridge.web.pages_common import OperatorPage, ViewerPage, redirect, render, web
from salesbridge.web.queries import Totals, last_runs_by_flow, list_errors, list_runs, run_totals
from salesbridge.web.schemas import BudgetOut
from salesbridge.web.state import HubUnavailable, WebState

router = APIRouter(include_in_schema=False)

#: The budget costs one API call to read; a dashboard reloaded often reads it at most this often.
BUDGET_CACHE_SECONDS = 60.0
ERRORS_SHOWN = 100
CONFLICTS_SHOWN = 20


def _budget(request: Request, principal: Principal, state: WebState,
            newest_run: tuple[int, str] | None) -> tuple[BudgetOut | None, str | None]:
    """The org's remaining allowance, read again after a minute or once a run started or ended."""
    cached = getattr(request.app.state, "page_budget", None)
    if cached is not None and cached[1] == newest_run and time.monotonic() - cached[0] < BUDGET_CACHE_SECONDS:
        return cached[2], None
    try:
        found = read_budget(principal, state)
    except (SalesforceError, HubUnavailable, OSError) as error:
        return None, f"The API budget cannot be read: {error}"
    request.app.state.page_budget = (time.monotonic(), newest_run, found)
    return found, None


def live_context(state: WebState) -> dict[str, Any]:
    """What the live panel shows: the running sync (its progress per flow and stage) and its counts so far."""
    live = state.runs.active
    if live is None or live.run_id is None:
        return {"live": None, "live_stats": [], "live_run": None}
    with hub_session(state) as session:
        run = session.get(Run, live.run_id)
        stats = repo.run_flows(session, live.run_id)
    return {"live": live, "live_stats": stats, "live_run": run,
            "elapsed": int(time.time() - live.started_at.timestamp())}


@router.get("/")
def dashboard(request: Request, principal: ViewerPage) -> Response:
    state = web(request)
    if not state.config.exists():
        if principal.has(Role.ADMIN):
            return redirect("/setup", notice="There is no configuration yet: the setup wizard makes one.")
        return render(request, "message.html", principal, title="Not set up yet",
                      message="There is no configuration yet. An admin sets the hub up in the setup wizard.")
    try:
        config = state.hub_config()
        with hub_session(state) as session:
            context = _dashboard_data(session)
    except HubUnavailable as error:
        setup = ("/setup", "Open the setup wizard") if principal.has(Role.ADMIN) else None
        return render(request, "message.html", principal, status_code=503, title="The hub is not ready",
                      message=str(error), link=setup)
    newest = (context["runs"][0].id, context["runs"][0].status) if context["runs"] else None
    budget, budget_problem = _budget(request, principal, state, newest)
    return render(request, "dashboard.html", principal, title="Dashboard", flows=config.flows, budget=budget,
                  budget_problem=budget_problem, can_run=principal.has(Role.OPERATOR),
                  **context, **live_context(state))


def _dashboard_data(session: Session) -> dict[str, Any]:
    runs = list_runs(session, limit=10)
    errors = list_errors(session, status="open", limit=ERRORS_SHOWN)
    return {"last_by_flow": last_runs_by_flow(session), "runs": runs,
            "totals": run_totals(session, [run.id for run in runs]), "errors": errors,
            "conflicts": repo.list_conflicts(session, limit=CONFLICTS_SHOWN), "Totals": Totals}


@router.get("/live")
def live_fragment(request: Request, principal: ViewerPage) -> HTMLResponse:
    """The live panel alone (polled by ``live.js`` while a sync runs)."""
    state = web(request)
    try:
        context = live_context(state)
    except HubUnavailable:
        context = {"live": None, "live_stats": [], "live_run": None}
    return render(request, "_live.html", principal, **context)


@router.get("/runs/{run_id}")
def run_page(run_id: int, request: Request, principal: ViewerPage) -> Response:
    state = web(request)
    try:
        with hub_session(state) as session:
            run = session.get(Run, run_id)
            if run is None:
                raise HTTPException(404, detail=f"no run {run_id}")
            stats = repo.run_flows(session, run_id)
            errors = list_errors(session, status="all", run_id=run_id, limit=200)
            conflicts = repo.list_conflicts(session, run_id=run_id, limit=200)
    except HubUnavailable as error:
        return render(request, "message.html", principal, status_code=503, title="The hub is not ready",
                      message=str(error))
    running = state.runs.active is not None and state.runs.active.run_id == run_id
    return render(request, "run.html", principal, title=f"Run {run_id}", run=run, stats=stats, errors=errors,
                  conflicts=conflicts, running=running, **live_context(state))


# -- actions ------------------------------------------------------------------------------------------------


def _start(request: Request, kind: str, work: Any, back: str) -> Response:
    state = web(request)
    try:
        run_id = state.runs.start(state.hub(), work, kind=kind)
    except RunInProgress as error:
        return redirect(back, error=str(error))
    except (RunDidNotStart, HubUnavailable) as error:
        return redirect(back, error=f"The {kind} did not start: {error}")
    what = "Sync" if kind == "sync" else "Retry"
    return redirect(back, notice=f"{what} started: run {run_id}.")


@router.post("/sync")
async def start_sync(request: Request, principal: OperatorPage) -> Response:
    form = await request.form()
    flow = form.get("flow")
    flows = [flow] if isinstance(flow, str) and flow else None
    if flows:
        try:
            web(request).hub_config().flow(flows[0])
        except Exception as error:  # noqa: BLE001 - an unknown flow or no config: say so on the page
            return redirect("/", error=str(error))
    return _start(request, "sync", sync_work(flows), "/")


@router.post("/errors/{error_id}/retry")
async def retry_one(error_id: int, request: Request, principal: OperatorPage) -> Response:
    state = web(request)
    back = _local((await request.form()).get("back"))
    with hub_session(state) as session:
        if not repo.open_errors(session, ids=[error_id], limit=1):
            return redirect(back, error=f"Error {error_id} is not open.")
    return _start(request, "retry", retry_work([error_id], None), back)


@router.post("/errors/retry")
def retry_all(request: Request, principal: OperatorPage) -> Response:
    state = web(request)
    with hub_session(state) as session:
        if not repo.open_errors(session, limit=1):
            return redirect("/", error="There are no open errors to retry.")
    return _start(request, "retry", retry_work(None, None), "/")


def _local(path: Any) -> str:
    """A page of this app to go back to (never another site)."""
    if isinstance(path, str) and path.startswith("/") and not path.startswith("//") and "\\" not in path:
        return path
    return "/"
