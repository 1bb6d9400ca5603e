"""``/api/records``: one linked record, both sides side by side with its sync history, and "sync now"."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Path, Query, status

from salesbridge.connectors.sql import SqlConnectorError, SqlTable
from salesbridge.store.models import jsonable
from salesbridge.sync.config import Direction, FieldMap, FlowConfig, HubConfig
from salesbridge.sync.lookups import Lookups
from salesbridge.sync.mapping import Mapper, MappingError, canonical
from salesbridge.web.api.common import AUTH_ERRORS, BUSY, HUB_ERRORS, NOT_FOUND, hub_session
from salesbridge.web.auth import OperatorDep, StateDep, ViewerDep
from salesbridge.web.queries import find_link, list_links, record_history
from salesbridge.web.schemas import FieldPair, HistoryItem, LinkOut, RecordSyncIn, RecordSyncOut, RecordView
from salesbridge.web.state import WebState

router = APIRouter(tags=["records"])
FlowName = Path(min_length=1, max_length=100, description="the flow's name")
SF_ID_PATTERN = r"^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$"
_NAMED = {422: {"description": "neither app_key nor sf_id given, or not valid"}}


@router.get("/records/{flow}", response_model=RecordView,
            responses={**AUTH_ERRORS, **NOT_FOUND, **HUB_ERRORS, **_NAMED})
def record_view(_viewer: ViewerDep, state: StateDep, flow: str = FlowName,
                app_key: str | None = Query(None, min_length=1, max_length=255),
                sf_id: str | None = Query(None, pattern=SF_ID_PATTERN)) -> RecordView:
    """A record of a flow named by its app key or its Salesforce Id: the app row and the Salesforce record
    side by side (mapped fields), its link, and its history (events, errors, conflicts), newest first."""
    if app_key is None and sf_id is None:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail="name the record: app_key or sf_id")
    config = state.hub_config()
    flow_config = _flow(config, flow)
    with hub_session(state) as session:
        link = find_link(session, flow, app_key, sf_id)
        app_key = app_key if app_key is not None else (link.app_key if link else None)
        sf_id = link.sf_id if link is not None and link.sf_id else sf_id
        history = record_history(session, flow, app_key, sf_id)
        link_out = LinkOut.model_validate(link) if link is not None else None
    app_row = _app_row(state, flow_config, app_key)
    sf_record = _salesforce_record(state, flow_config, sf_id)
    if link is None and app_row is None and sf_record is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"flow '{flow}' has no such record")
    with state.reader() as client:
        lookups = Lookups(state.hub().engine, client)
        pairs = [_pair(config, flow_config, field, app_row, sf_record, lookups) for field in flow_config.fields]
    return RecordView(flow=flow, app_key=app_key, sf_id=sf_id, link=link_out, app_row=app_row,
                      salesforce_record=sf_record, fields=pairs,
                      history=[HistoryItem(**jsonable_item(item)) for item in history])


@router.get("/records/{flow}/links", response_model=list[LinkOut], responses={**AUTH_ERRORS, **NOT_FOUND,
                                                                               **HUB_ERRORS})
def links(_viewer: ViewerDep, state: StateDep, flow: str = FlowName, limit: int = Query(100, ge=1, le=1000),
          offset: int = Query(0, ge=0, le=10**9), deleted: bool = False) -> list[LinkOut]:
    """The flow's linked records, newest first (to pick one for the record view)."""
    _flow(state.hub_config(), flow)
    with hub_session(state) as session:
        return [LinkOut.model_validate(link) for link in list_links(session, flow, limit=limit, offset=offset,
                                                                    include_deleted=deleted)]


@router.post("/records/{flow}/sync", response_model=RecordSyncOut,
             responses={**AUTH_ERRORS, **NOT_FOUND, **BUSY, **HUB_ERRORS, **_NAMED})
def sync_record(body: RecordSyncIn, _operator: OperatorDep, state: StateDep, flow: str = FlowName
                ) -> RecordSyncOut:
    """Sync this record now (outside the watermarks), and answer when done."""
    if (body.app_key is None) == (body.sf_id is None):
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail="name the record: app_key or sf_id")
    _flow(state.hub_config(), flow)
    report = state.runs.run_now(state.hub(), lambda hub: hub.sync_record(flow, app_key=body.app_key,
                                                                         sf_id=body.sf_id))
    return RecordSyncOut(run_id=report.run_id, status=report.status, written=report.written,
                         failed=report.failed, errors=report.errors)


def jsonable_item(item: dict[str, Any]) -> dict[str, Any]:
    return {**item, "details": jsonable(item["details"])}


def _flow(config: HubConfig, name: str) -> FlowConfig:
    for flow in config.flows:
        if flow.name == name:
            return flow
    raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no flow named '{name}'")


def _app_row(state: WebState, flow: FlowConfig, app_key: str | None) -> dict[str, Any] | None:
    if app_key is None:
        return None
    try:
        table = SqlTable(state.hub().engine, flow.table, key_column=flow.key.app)
        row = table.read_one(None, app_key)
    except SqlConnectorError:  # a key the column cannot hold names no row
        return None
    return jsonable(row) if row is not None else None


def _salesforce_record(state: WebState, flow: FlowConfig, sf_id: str | None) -> dict[str, Any] | None:
    if sf_id is None:
        return None
    fields = ["Id", *(f.salesforce for f in flow.fields if f.salesforce.lower() != "id"), "SystemModstamp"]
    with state.reader() as client:
        record = client.get(flow.salesforce, sf_id, fields=fields)
    if record is None:
        return None
    return {key: value for key, value in record.items() if key != "attributes"}


def _pair(config: HubConfig, flow: FlowConfig, field: FieldMap, app_row: dict[str, Any] | None,
          sf_record: dict[str, Any] | None, lookups: Lookups) -> FieldPair:
    sf_value = _get_ci(sf_record, field.salesforce) if sf_record is not None else None
    app_value = app_row.get(field.app) if app_row is not None else None
    same = False
    if app_row is not None and sf_record is not None:
        # The app value as it would be sent, whatever the field's direction: comparable with Salesforce's.
        single = flow.model_copy(update={"fields": [field.model_copy(update={"direction": None})],
                                         "direction": Direction.BOTH})
        try:
            mapper = Mapper(single, config.value_maps, lookups)
            expected = mapper.to_salesforce({field.app: app_value})[field.salesforce]
            same = canonical(expected) == canonical(sf_value)
        except MappingError:
            same = False
    return FieldPair(salesforce_field=field.salesforce, app_column=field.app,
                     direction=field.direction.value if field.direction else None,
                     salesforce_value=sf_value, app_value=app_value, same=same)


def _get_ci(record: dict[str, Any], name: str) -> Any:
    for key, value in record.items():
        if key.lower() == name.lower():
            return value
    return None
