"""``/api/flows``: the configured flows with their schedule, last run and open errors; admins edit them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, HTTPException, Path, status
from pydantic import BaseModel

from salesbridge.sync.config import FlowConfig
from salesbridge.web import accounts
from salesbridge.web.api.common import AUTH_ERRORS, CONFIG_INVALID, HUB_ERRORS, NOT_FOUND, hub_session
from salesbridge.web.auth import AdminDep, StateDep, ViewerDep
from salesbridge.web.config_store import mask_secrets
from salesbridge.web.queries import last_runs_by_flow, open_error_counts
from salesbridge.web.schemas import FlowDetail, FlowOut, LastRun

router = APIRouter(tags=["flows"])
FlowName = Path(min_length=1, max_length=100, description="the flow's name")


@router.get("/flows", response_model=list[FlowOut], responses={**AUTH_ERRORS, **HUB_ERRORS})
def list_flows(_viewer: ViewerDep, state: StateDep) -> list[FlowOut]:
    """Every configured flow, with its schedule, its last run (counts and API calls) and its open errors."""
    config = state.hub_config()
    with hub_session(state) as session:
        last = last_runs_by_flow(session)
        errors = open_error_counts(session)
    return [FlowOut(**_summary(flow, last, errors)) for flow in config.flows]


@router.get("/flows/{name}", response_model=FlowOut, responses={**AUTH_ERRORS, **NOT_FOUND, **HUB_ERRORS})
def get_flow(_viewer: ViewerDep, state: StateDep, name: str = FlowName) -> FlowOut:
    """One flow's summary: object, table, direction, schedule, last run, open errors."""
    flow = _flow(state, name)
    with hub_session(state) as session:
        last = last_runs_by_flow(session)
        errors = open_error_counts(session)
    return FlowOut(**_summary(flow, last, errors))


@router.get("/flows/{name}/config", response_model=dict[str, Any],
            responses={**AUTH_ERRORS, **NOT_FOUND, **HUB_ERRORS})
def get_flow_config(_admin: AdminDep, state: StateDep, name: str = FlowName) -> dict[str, Any]:
    """The flow as the YAML file holds it (mapping, filters, schedule...): what ``PUT /api/flows/{name}``
    takes."""
    _flow(state, name)
    for flow in state.config.read_raw().get("flows") or []:
        if isinstance(flow, dict) and flow.get("name") == name:
            return mask_secrets(flow)
    raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no flow named '{name}'")


@router.put("/flows/{name}", response_model=FlowDetail,
            responses={**AUTH_ERRORS, **CONFIG_INVALID, **HUB_ERRORS})
def put_flow(admin: AdminDep, state: StateDep, name: str = FlowName,
             body: dict[str, Any] = Body(description="the flow as the YAML file holds it (name from path)")
             ) -> FlowDetail:
    """Create or replace one flow in the configuration file (validated as a whole before it is written); the
    answer is the flow as validated, defaults filled in."""
    spec = {**body, "name": name}

    def change(data: dict[str, Any]) -> None:
        flows = data.setdefault("flows", []) or []
        data["flows"] = flows
        for index, existing in enumerate(flows):
            if isinstance(existing, dict) and existing.get("name") == name:
                flows[index] = spec
                return
        flows.append(spec)

    config = state.config.edit(change)
    with state.session() as session:
        accounts.audit(session, admin.username, "flow.put", flow=name)
    return _detail(config.flow(name), {}, {})


@router.delete("/flows/{name}", status_code=status.HTTP_204_NO_CONTENT,
               responses={**AUTH_ERRORS, **NOT_FOUND, **CONFIG_INVALID, **HUB_ERRORS})
def delete_flow(admin: AdminDep, state: StateDep, name: str = FlowName) -> None:
    """Remove a flow from the configuration (its links and history stay in the database)."""
    _flow(state, name)

    def change(data: dict[str, Any]) -> None:
        data["flows"] = [f for f in data.get("flows") or []
                         if not (isinstance(f, dict) and f.get("name") == name)]

    state.config.edit(change)
    with state.session() as session:
        accounts.audit(session, admin.username, "flow.delete", flow=name)


def _flow(state: StateDep, name: str) -> FlowConfig:
    for flow in state.hub_config().flows:
        if flow.name == name:
            return flow
    raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no flow named '{name}'")


def _plain(value: Any) -> Any:
    return value.model_dump(mode="json", exclude_none=True) if isinstance(value, BaseModel) else value


def _summary(flow: FlowConfig, last: dict[str, Any], errors: dict[str, int]) -> dict[str, Any]:
    last_run = None
    if flow.name in last:
        run, stats = last[flow.name]
        last_run = LastRun(run_id=run.id, status=run.status, started_at=run.started_at,
                           finished_at=run.finished_at, records_read=stats.records_read,
                           records_written=stats.records_written, records_failed=stats.records_failed,
                           conflicts=stats.conflicts, api_calls=stats.api_calls)
    return {"name": flow.name, "salesforce": flow.salesforce, "table": flow.table,
            "direction": flow.direction.value, "enabled": flow.enabled, "conflict": flow.conflict.value,
            "schedule": _plain(getattr(flow, "schedule", None)), "last_run": last_run,
            "open_errors": errors.get(flow.name, 0)}


def _detail(flow: FlowConfig, last: dict[str, Any], errors: dict[str, int]) -> FlowDetail:
    return FlowDetail(**_summary(flow, last, errors),
                      fields=[field.model_dump(mode="json", exclude_none=True) for field in flow.fields],
                      key=flow.key.model_dump(mode="json"), filter=flow.filter.model_dump(mode="json"))
