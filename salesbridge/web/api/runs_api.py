"""``/api/runs``, ``/api/errors``, ``/api/conflicts``: what the syncs did, starting them, fixing failures."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException, Query, Request, status
from sqlalchemy.orm import Session

from salesbridge.store import repository as repo
from salesbridge.store.models import ErrorStatus, RecordError, Run
from salesbridge.web.api.common import AUTH_ERRORS, BUSY, HUB_ERRORS, MAX_ID, NOT_FOUND, IdPath, hub_session
from salesbridge.web.auth import OperatorDep, StateDep, ViewerDep
from salesbridge.web.background import retry_work, sync_work
from salesbridge.web.queries import UNRESOLVED, Totals, list_errors, list_runs, open_error_counts, run_totals
from salesbridge.web.schemas import (
    ConflictOut,
    ErrorDetail,
    ErrorOut,
    FlowStats,
    LiveProgress,
    RetryIn,
    RunDetail,
    RunOut,
    RunStart,
    RunStarted,
)
from salesbridge.web.state import WebState

router = APIRouter(tags=["runs"])
Limit = Query(50, ge=1, le=500)
Offset = Query(0, ge=0, le=10**9)
ErrorStatusFilter = Literal["open", "all", "retrying", "resolved", "ignored"]


@router.get("/runs", response_model=list[RunOut], responses={**AUTH_ERRORS, **HUB_ERRORS})
def runs(_viewer: ViewerDep, state: StateDep, limit: int = Limit, offset: int = Offset,
         flow: str | None = Query(None, max_length=100), run_status: str | None = Query(None, alias="status",
                                                                                    max_length=20)
         ) -> list[RunOut]:
    """Runs, newest first, with their totals; ``flow``: only runs that synced it."""
    with hub_session(state) as session:
        found = list_runs(session, flow=flow, status=run_status, limit=limit, offset=offset)
        totals = run_totals(session, [run.id for run in found])
        return [_run_out(run, totals.get(run.id, Totals())) for run in found]


@router.post("/runs", response_model=RunStarted, status_code=status.HTTP_202_ACCEPTED,
             responses={**AUTH_ERRORS, **BUSY, **HUB_ERRORS, **NOT_FOUND})
def start_run(body: RunStart, request: Request, _operator: OperatorDep, state: StateDep) -> RunStarted:
    """Start a sync of every enabled flow (or the named ones) in the background; poll the run meanwhile."""
    config = state.hub_config()
    known = {flow.name for flow in config.flows}
    unknown = [name for name in body.flows or [] if name not in known]
    if unknown:
        raise HTTPException(status.HTTP_404_NOT_FOUND,
                            detail=f"no flow named {', '.join(map(repr, unknown))} "
                            f"(known: {', '.join(sorted(known)) or 'none'})")
    run_id = state.runs.start(state.hub(), sync_work(body.flows or None), kind="sync")
    return _started(request, run_id)


@router.get("/runs/active", response_model=RunDetail | None, responses={**AUTH_ERRORS, **HUB_ERRORS})
def active_run(_viewer: ViewerDep, state: StateDep) -> RunDetail | None:
    """The sync this web process is running now, with its live progress (null when none)."""
    live = state.runs.active
    if live is None or live.run_id is None:
        return None
    return _detail(state, live.run_id)


@router.get("/runs/{run_id}", response_model=RunDetail, responses={**AUTH_ERRORS, **NOT_FOUND, **HUB_ERRORS})
def run_detail(run_id: IdPath, _viewer: ViewerDep, state: StateDep) -> RunDetail:
    """One run: per-flow counts and API calls, its conflicts, and live progress while it is running."""
    return _detail(state, run_id)


# -- errors ---------------------------------------------------------------------------------------------


@router.get("/errors", response_model=list[ErrorOut], responses={**AUTH_ERRORS, **HUB_ERRORS})
def errors(_viewer: ViewerDep, state: StateDep, flow: str | None = Query(None, max_length=100),
           error_status: ErrorStatusFilter = Query("open", alias="status"),
           run_id: int | None = Query(None, ge=1, le=MAX_ID), limit: int = Limit,
           offset: int = Offset) -> list[ErrorOut]:
    """Record errors, newest first: open ones by default (``status=all`` for every one)."""
    with hub_session(state) as session:
        found = list_errors(session, flow=flow, status=error_status, run_id=run_id, limit=limit,
                            offset=offset)
        return [ErrorOut.model_validate(error) for error in found]


@router.get("/errors/{error_id}", response_model=ErrorDetail,
            responses={**AUTH_ERRORS, **NOT_FOUND, **HUB_ERRORS})
def error_detail(error_id: IdPath, _viewer: ViewerDep, state: StateDep) -> ErrorDetail:
    """One error with the payload that was refused."""
    with hub_session(state) as session:
        return ErrorDetail.model_validate(_error(session, error_id))


@router.post("/errors/retry", response_model=RunStarted, status_code=status.HTTP_202_ACCEPTED,
             responses={**AUTH_ERRORS, **BUSY, **HUB_ERRORS})
def retry_errors(body: RetryIn, request: Request, _operator: OperatorDep, state: StateDep) -> RunStarted:
    """Retry every open error (or one flow's, or the given ids): the records are read again and re-sent."""
    ids = None if body.ids is None else [error_id for error_id in body.ids if 1 <= error_id <= MAX_ID]
    with hub_session(state) as session:
        if not repo.open_errors(session, flow=body.flow, ids=ids, limit=1):
            raise HTTPException(status.HTTP_409_CONFLICT, detail="no open errors to retry")
    run_id = state.runs.start(state.hub(), retry_work(ids, body.flow), kind="retry")
    return _started(request, run_id)


@router.post("/errors/{error_id}/retry", response_model=RunStarted, status_code=status.HTTP_202_ACCEPTED,
             responses={**AUTH_ERRORS, **BUSY, **NOT_FOUND, **HUB_ERRORS})
def retry_error(error_id: IdPath, request: Request, _operator: OperatorDep, state: StateDep) -> RunStarted:
    """Retry one error: its record is read again and re-sent in a run of its own."""
    with hub_session(state) as session:
        error = _error(session, error_id)
        if error.status not in UNRESOLVED:
            raise HTTPException(status.HTTP_409_CONFLICT,
                                detail=f"error {error_id} is {error.status}, not open")
    run_id = state.runs.start(state.hub(), retry_work([error_id], None), kind="retry")
    return _started(request, run_id)


@router.post("/errors/{error_id}/ignore", response_model=ErrorOut,
             responses={**AUTH_ERRORS, **NOT_FOUND, **HUB_ERRORS})
def ignore_error(error_id: IdPath, _operator: OperatorDep, state: StateDep) -> ErrorOut:
    """Stop showing an error as open (the record is left as it is; a later failure opens a new error)."""
    with hub_session(state) as session:
        error = _error(session, error_id)
        repo.set_error_status(session, [error.id], ErrorStatus.IGNORED)
        session.refresh(error)
        return ErrorOut.model_validate(error)


@router.get("/conflicts", response_model=list[ConflictOut], responses={**AUTH_ERRORS, **HUB_ERRORS})
def conflicts(_viewer: ViewerDep, state: StateDep, flow: str | None = Query(None, max_length=100),
              run_id: int | None = Query(None, ge=1, le=MAX_ID), limit: int = Query(200, ge=1, le=1000)
              ) -> list[ConflictOut]:
    """Records changed on both sides since the last sync: both versions and which one won, newest first."""
    with hub_session(state) as session:
        return [ConflictOut.model_validate(c) for c in repo.list_conflicts(session, flow, run_id, limit)]


# -- helpers --------------------------------------------------------------------------------------------


def _started(request: Request, run_id: int) -> RunStarted:
    return RunStarted(run_id=run_id, status_url=str(request.url_for("run_detail", run_id=run_id).path))


def _error(session: Session, error_id: int) -> RecordError:
    error = session.get(RecordError, error_id)
    if error is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no record error {error_id}")
    return error


def _run_out(run: Run, totals: Totals) -> RunOut:
    return RunOut(id=run.id, status=run.status, trigger=run.trigger, flows=list(run.flows or []),
                  started_at=run.started_at, finished_at=run.finished_at, api_calls=run.api_calls or 0,
                  error=run.error, records_read=totals.records_read, records_written=totals.records_written,
                  records_failed=totals.records_failed, conflicts=totals.conflicts)


def _detail(state: WebState, run_id: int) -> RunDetail:
    with hub_session(state) as session:
        run = session.get(Run, run_id)
        if run is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no run {run_id}")
        totals = run_totals(session, [run_id]).get(run_id, Totals())
        per_flow = [FlowStats.model_validate(stats) for stats in repo.run_flows(session, run_id)]
        found = [ConflictOut.model_validate(c) for c in repo.list_conflicts(session, run_id=run_id,
                                                                            limit=200)]
        open_count = sum(open_error_counts(session, run_id=run_id).values())
        out = _run_out(run, totals)
    live = state.runs.live(run_id)
    progress = None
    if live is not None and not live.finished and run.status == "running":
        progress = LiveProgress(current_flow=live.current_flow,
                                progress={flow: dict(stages) for flow, stages in live.progress.items()})
    return RunDetail(**out.model_dump(), per_flow=per_flow, conflicts_found=found, open_errors=open_count,
                     live=progress)
