"""Planning one sync of one flow: from the changes on both sides and the links, decide what to write where.

Pure: no servers, no database. The engine gathers the inputs, calls ``plan_flow`` and carries the plan out.
Rules, in order:
1. A change whose mapped values hash equal to what the link last synced is an echo (the hub's own write coming
   back) or a no-op: it is dropped, and its change-log entries are acknowledged.
2. A record changed on both sides since the last sync is a conflict, settled by the flow's policy; the loser's
   change is dropped and the winner's values are written over it. Both versions are kept for the run log.
3. Everything else is written to the other side, as the flow's direction allows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from salesbridge.connectors.sql import ValueConversionError
from salesbridge.sync.changes import AppChange, SalesforceChange
from salesbridge.sync.config import Direction, FlowConfig
from salesbridge.sync.conflicts import ChangeStamp, Side, resolve
from salesbridge.sync.mapping import Mapper, MappingError, jsonable, values_hash


@dataclass
class LinkState:
    """What the plan needs to know of a link (the stored row has more)."""

    app_key: str
    sf_id: str | None
    app_hash: str | None = None
    sf_hash: str | None = None
    deleted: bool = False


@dataclass
class ToApp:
    """Write a Salesforce record's values into the app (insert when ``app_key`` is None)."""

    change: SalesforceChange
    app_key: str | None
    values: dict[str, Any]
    log_ids: list[int] = field(default_factory=list)


@dataclass
class ToSalesforce:
    """Write an app row's values to Salesforce (create when ``sf_id`` is None)."""

    change: AppChange
    sf_id: str | None
    values: dict[str, Any]


@dataclass
class Deletion:
    """Delete the twin of a record deleted on ``origin``."""

    origin: Side
    app_key: str
    sf_id: str
    log_ids: list[int] = field(default_factory=list)
    #: Both sides deleted it: only the link is left to close.
    twin_already_gone: bool = False


@dataclass
class ConflictRecord:
    app_key: str
    sf_id: str
    winner: Side
    sf_values: dict[str, Any]
    app_values: dict[str, Any]


@dataclass
class PlannedError:
    """A record that cannot be written (unmapped value...), kept as a RecordError."""

    direction: Direction
    app_key: str | None
    sf_id: str | None
    error_code: str
    message: str
    fields: list[str]
    payload: dict[str, Any]
    log_ids: list[int] = field(default_factory=list)


@dataclass
class FlowPlan:
    to_app: list[ToApp] = field(default_factory=list)
    to_salesforce: list[ToSalesforce] = field(default_factory=list)
    deletions: list[Deletion] = field(default_factory=list)
    conflicts: list[ConflictRecord] = field(default_factory=list)
    errors: list[PlannedError] = field(default_factory=list)
    #: Change-log entries needing no write (echoes, no-ops, lost conflicts): acknowledged at once.
    settled_log_ids: list[int] = field(default_factory=list)
    #: Salesforce changes that need no write, by sf_id (their link hashes stay as they are).
    unchanged_sf: int = 0
    #: App rows changed back to the values last synced: nothing to send, and their open errors of sending the
    #: values in between are moot.
    back_in_step: list[str] = field(default_factory=list)


Coerce = Callable[[dict[str, Any]], dict[str, Any]]


def plan_flow(flow: FlowConfig, mapper: Mapper, sf_changes: list[SalesforceChange],
              app_changes: Mapping[str, AppChange], links_by_sf: Mapping[str, LinkState],
              links_by_app: Mapping[str, LinkState], coerce: Coerce) -> FlowPlan:
    """Decide the writes of one sync. ``coerce`` converts mapped values to the app columns' types."""
    plan = FlowPlan()
    pending_app = dict(app_changes)
    receives, sends = flow.direction.receives(), flow.direction.sends()

    for change in sf_changes:
        link = links_by_sf.get(change.sf_id)
        if link is not None and link.deleted:
            continue  # a tombstone wins over anything older
        if change.deleted:
            if link is not None and receives and flow.deletes:
                app_change = pending_app.pop(link.app_key, None)
                log_ids = app_change.log_ids if app_change else []
                gone = app_change is not None and app_change.deleted
                # An app row still as last synced has no change of its own to lose: no conflict to log.
                if app_change is not None and not gone and not _app_row_as_synced(mapper, coerce, app_change, link):
                    plan.conflicts.append(ConflictRecord(link.app_key, change.sf_id, Side.SALESFORCE,
                                                         jsonable(change.record), jsonable(app_change.row or {})))
                plan.deletions.append(Deletion(Side.SALESFORCE, link.app_key, change.sf_id, log_ids,
                                               twin_already_gone=gone))
            continue
        if not receives:
            continue
        try:
            incoming = coerce(mapper.to_app(change.record))
        except (MappingError, ValueConversionError) as error:
            plan.errors.append(PlannedError(Direction.FROM_SALESFORCE, link.app_key if link else None,
                                            change.sf_id, error.error_code, error.message, error.fields,
                                            change.record))
            continue
        app_key = link.app_key if link else None
        app_change = pending_app.get(app_key) if app_key else None
        if link is not None and values_hash(incoming) == link.sf_hash:
            plan.unchanged_sf += 1
            continue
        if app_change is not None and link is not None:
            pending_app.pop(app_key)  # type: ignore[arg-type]
            if _app_row_as_synced(mapper, coerce, app_change, link):
                # Logged but not changed (the first run's every-row pass, a write of equal values): no conflict,
                # or its "now" would beat the genuine Salesforce edit.
                plan.to_app.append(ToApp(change, app_key, incoming, app_change.log_ids))
                continue
            outcome = _settle_conflict(flow, mapper, coerce, change, incoming, app_change, link, plan)
            if outcome is not None:
                plan.to_app.append(outcome)
            continue
        plan.to_app.append(ToApp(change, app_key, incoming))

    for app_key, app_change in pending_app.items():
        link = links_by_app.get(app_key)
        if not sends:
            plan.settled_log_ids.extend(app_change.log_ids)
            continue
        if app_change.deleted or app_change.row is None:
            if link is not None and link.sf_id and not link.deleted and flow.deletes:
                plan.deletions.append(Deletion(Side.APP, app_key, link.sf_id, app_change.log_ids))
            else:
                plan.settled_log_ids.extend(app_change.log_ids)
            continue
        if link is not None and link.deleted:
            # A tombstone's row was deleted: a row present under its key was inserted since (the database
            # re-used the key), so it is a new record, created in Salesforce like any other.
            link = None
        outgoing_view = coerce(mapper.app_view(app_change.row, Direction.TO_SALESFORCE))
        if link is not None and link.sf_id and values_hash(outgoing_view) == link.app_hash:
            plan.settled_log_ids.extend(app_change.log_ids)
            plan.back_in_step.append(app_key)
            continue
        try:
            values = mapper.to_salesforce(app_change.row)
        except MappingError as error:
            plan.errors.append(PlannedError(Direction.TO_SALESFORCE, app_key, link.sf_id if link else None,
                                            error.error_code, error.message, error.fields,
                                            jsonable(app_change.row), app_change.log_ids))
            continue
        plan.to_salesforce.append(ToSalesforce(app_change, link.sf_id if link else None, values))
    return plan


def _app_row_as_synced(mapper: Mapper, coerce: Coerce, app_change: AppChange, link: LinkState) -> bool:
    """Whether the app row still holds the values the link last synced (its change is no change)."""
    if app_change.deleted or app_change.row is None or link.app_hash is None:
        return False
    return values_hash(coerce(mapper.app_view(app_change.row, Direction.TO_SALESFORCE))) == link.app_hash


def _settle_conflict(flow: FlowConfig, mapper: Mapper, coerce: Coerce, change: SalesforceChange,
                     incoming: dict[str, Any], app_change: AppChange, link: LinkState, plan: FlowPlan) -> ToApp | None:
    """Both sides changed: keep the winner, record both versions, and write the winner over the loser."""
    app_row = app_change.row or {}
    app_values = coerce(mapper.app_view(app_row, Direction.FROM_SALESFORCE)) if app_change.row else {}
    if not app_change.deleted and values_hash(app_values) == values_hash(incoming):
        # Both sides hold the same values (e.g. a retried write whose link was not yet stored): no conflict. The
        # entries are acknowledged with the write that stores the link: before it, a crash would lose the change.
        return ToApp(change, link.app_key, incoming, app_change.log_ids)
    winner = resolve(flow.conflict, ChangeStamp(change.modified_at, change.deleted),
                     ChangeStamp(app_change.changed_at, app_change.deleted))
    plan.conflicts.append(ConflictRecord(link.app_key, change.sf_id, winner, jsonable(change.record),
                                         jsonable(app_row)))
    if winner is Side.SALESFORCE:
        return ToApp(change, link.app_key, incoming, app_change.log_ids)
    if app_change.deleted:
        if flow.deletes and link.sf_id:
            plan.deletions.append(Deletion(Side.APP, link.app_key, link.sf_id, app_change.log_ids))
        else:
            plan.settled_log_ids.extend(app_change.log_ids)
        return None
    try:
        values = mapper.to_salesforce(app_row)
    except MappingError as error:
        plan.errors.append(PlannedError(Direction.TO_SALESFORCE, link.app_key, link.sf_id, error.error_code,
                                        error.message, error.fields, jsonable(app_row), app_change.log_ids))
        return None
    plan.to_salesforce.append(ToSalesforce(app_change, link.sf_id, values))
    return None
