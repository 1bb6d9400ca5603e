"""Small typed reads and writes of the hub's tables, for the sync engine, triggers, CLI and web API.

Every function takes the caller's ``Session`` and never commits: the caller decides what shares a transaction
(an app write, its link, the watermark and the change-log acknowledgement commit together or not at all).
New rows are flushed so that their ids are known on return. JSON values (payloads, conflict versions, details)
are stored as JSON text forms (``Decimal`` and dates as strings), and the returned objects already hold them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from salesbridge.store.models import (
    Conflict,
    ErrorStatus,
    Event,
    EventKind,
    Link,
    Operation,
    RecordError,
    Run,
    RunFlow,
    RunStatus,
    RunTrigger,
    SyncDirection,
    Watermark,
    Winner,
    jsonable,
    utcnow,
)
from salesbridge.store.processes import owner_is_gone, process_owner

_Row = TypeVar("_Row")

# -- watermarks -------------------------------------------------------------------------------------------


def get_watermark(session: Session, flow: str, name: str) -> str | None:
    """The stored value of one watermark, or None before the first sync."""
    return session.scalar(select(Watermark.value).where(Watermark.flow == flow, Watermark.name == name))


def set_watermark(session: Session, flow: str, name: str, value: str) -> None:
    """Store a watermark; call it in the transaction that commits the writes it covers."""
    mark = session.get(Watermark, (flow, name))
    if mark is None:
        session.add(Watermark(flow=flow, name=name, value=value))
    else:
        mark.value = value
    session.flush()


# -- links ------------------------------------------------------------------------------------------------


def get_link_by_app_key(session: Session, flow: str, app_key: Any) -> Link | None:
    return session.scalar(select(Link).where(Link.flow == flow, Link.app_key == str(app_key)))


def get_link_by_sf_id(session: Session, flow: str, sf_id: str) -> Link | None:
    """The link of an 18-character Salesforce Id (the hub stores Ids as the API answers them: 18 characters)."""
    return session.scalar(select(Link).where(Link.flow == flow, Link.sf_id == sf_id))


def links_by_app_key(session: Session, flow: str, app_keys: Iterable[Any]) -> dict[str, Link]:
    """The links of many app keys at once (tombstones included), by app key; keys without a link are absent."""
    found: dict[str, Link] = {}
    for chunk in _chunks(sorted({str(key) for key in app_keys})):
        for link in session.scalars(select(Link).where(Link.flow == flow, Link.app_key.in_(chunk))):
            found[link.app_key] = link
    return found


def links_by_sf_id(session: Session, flow: str, sf_ids: Iterable[str]) -> dict[str, Link]:
    """The links of many Salesforce Ids at once (tombstones included), by Id."""
    found: dict[str, Link] = {}
    for chunk in _chunks(sorted(set(sf_ids))):
        for link in session.scalars(select(Link).where(Link.flow == flow, Link.sf_id.in_(chunk))):
            found[link.sf_id] = link  # type: ignore[index]
    return found


def save_link(
    session: Session,
    flow: str,
    app_key: Any,
    sf_id: str | None,
    *,
    sf_object: str,
    sf_modstamp: str | None = None,
    app_hash: str | None = None,
    sf_hash: str | None = None,
    deleted: bool = False,
) -> Link:
    """Create or replace the link of ``(flow, app_key)`` with the state just synced.

    Every field is set as given (this is the record's whole sync state after a write); ``deleted=False``
    revives a tombstone. A second app key claiming an Id that another link of the flow holds fails on the
    unique constraint: that is a duplicate to look into, not something to paper over.
    """
    link = get_link_by_app_key(session, flow, app_key)
    if link is None:
        link = Link(flow=flow, app_key=str(app_key), deleted=False)
        session.add(link)
    link.sf_id = sf_id
    link.sf_object = sf_object
    link.sf_modstamp = sf_modstamp
    link.app_hash = app_hash
    link.sf_hash = sf_hash
    if deleted and not link.deleted:
        link.deleted_at = utcnow()
    elif not deleted:
        link.deleted_at = None
    link.deleted = deleted
    session.flush()
    return link


def has_links_to(session: Session, flow: str, sf_object: str) -> bool:
    """Whether any live link of the flow points at a record of ``sf_object`` (e.g. converted leads' targets)."""
    query = select(Link.id).where(Link.flow == flow, Link.sf_object == sf_object, Link.deleted.is_(False)).limit(1)
    return session.scalar(query) is not None


def tombstone_link(session: Session, flow: str, app_key: Any) -> Link | None:
    """Turn a link into a tombstone (kept, so that a late, older update cannot bring the record back).

    Returns the link, or None when the app key has none (nothing to remember).
    """
    link = get_link_by_app_key(session, flow, app_key)
    if link is not None and not link.deleted:
        link.deleted = True
        link.deleted_at = utcnow()
        session.flush()
    return link


def iter_links(session: Session, flow: str, *, include_deleted: bool = False,
               batch_size: int = 1000) -> Iterator[Link]:
    """Every link of a flow in id order, loaded in batches (for reconciliation against both sides)."""
    last_id = 0
    while True:
        query = select(Link).where(Link.flow == flow, Link.id > last_id).order_by(Link.id).limit(batch_size)
        if not include_deleted:
            query = query.where(Link.deleted.is_(False))
        batch = list(session.scalars(query))
        yield from batch
        if len(batch) < batch_size:
            return
        last_id = batch[-1].id


# -- runs -------------------------------------------------------------------------------------------------


def start_run(session: Session, trigger: RunTrigger | str, flows: Sequence[str], *,
              parent_run_id: int | None = None, cause: Mapping[str, Any] | None = None) -> int:
    """Record a run as started (status ``running``) and return its id; commit it early so that it shows while
    it runs. Event and chain runs name the run that started them and why (``cause``)."""
    run = Run(trigger=RunTrigger(trigger).value, flows=list(flows), status=RunStatus.RUNNING.value, api_calls=0,
              parent_run_id=parent_run_id, cause=jsonable(dict(cause)) if cause else None, owner=process_owner())
    session.add(run)
    session.flush()
    return run.id


def sweep_interrupted_runs(session: Session) -> list[int]:
    """Mark ``interrupted`` the runs still ``running`` whose process on this host is gone; answers their ids.

    Runs of other hosts are left alone: whether their process lives cannot be told from here (each host sweeps
    its own when the hub starts there). Nothing is lost by an interrupted run: its unacknowledged changes and
    its watermarks were not committed, so the next run does the work again.
    """
    swept = []
    for run in session.scalars(select(Run).where(Run.status == RunStatus.RUNNING.value, Run.owner.is_not(None))):
        if not owner_is_gone(run.owner):
            continue
        run.status = RunStatus.INTERRUPTED.value
        run.finished_at = utcnow()
        run.error = f"the process running it ({run.owner}) stopped before the run finished"
        swept.append(run.id)
    session.flush()
    return swept


def finish_run(session: Session, run_id: int, status: RunStatus | str, api_calls: int | None = None,
               error: str | None = None) -> Run:
    """Close a run with its final status; ``api_calls`` defaults to the sum over its flows."""
    run = _get(session, Run, run_id)
    run.status = RunStatus(status).value
    run.finished_at = utcnow()
    if api_calls is None:
        api_calls = sum(stats.api_calls for stats in run_flows(session, run_id))
    run.api_calls = api_calls
    run.error = error
    session.flush()
    return run


def add_run_flow(
    session: Session,
    run_id: int,
    flow: str,
    *,
    records_read: int = 0,
    records_written: int = 0,
    records_failed: int = 0,
    conflicts: int = 0,
    api_calls: int = 0,
    deletes: int = 0,
    details: Mapping[str, Any] | None = None,
) -> RunFlow:
    """Add one batch's counts to a flow's totals in a run (created at zero on first use).

    ``details`` are merged key by key, the newest value winning.
    """
    stats = session.get(RunFlow, (run_id, flow))
    if stats is None:
        stats = RunFlow(run_id=run_id, flow=flow, records_read=0, records_written=0, records_failed=0,
                        conflicts=0, api_calls=0, deletes=0, details={})
        session.add(stats)
    stats.records_read += records_read
    stats.records_written += records_written
    stats.records_failed += records_failed
    stats.conflicts += conflicts
    stats.api_calls += api_calls
    stats.deletes += deletes
    if details:
        stats.details = jsonable({**(stats.details or {}), **details})
    session.flush()
    return stats


def recent_runs(session: Session, limit: int = 20) -> list[Run]:
    """The newest runs first."""
    return list(session.scalars(select(Run).order_by(Run.id.desc()).limit(limit)))


def run_flows(session: Session, run_id: int) -> list[RunFlow]:
    """A run's per-flow counts, by flow name."""
    return list(session.scalars(select(RunFlow).where(RunFlow.run_id == run_id).order_by(RunFlow.flow)))


# -- record errors ----------------------------------------------------------------------------------------

_UNRESOLVED = (ErrorStatus.OPEN.value, ErrorStatus.RETRYING.value)


def record_error(
    session: Session,
    run_id: int | None,
    flow: str,
    direction: SyncDirection | str,
    operation: Operation | str,
    app_key: Any,
    sf_id: str | None,
    error_code: str,
    message: str,
    fields: Iterable[str] = (),
    payload: Any = None,
) -> RecordError:
    """Store a refused record. If the same record (by app key, else by Salesforce Id) already has an
    unresolved error in this flow and direction, that one is updated instead (``attempts`` + 1, back to
    ``open``), so that failing retries do not pile up duplicates."""
    if app_key is None and sf_id is None:
        raise ValueError("a record error needs app_key or sf_id")
    direction = SyncDirection(direction).value
    query = select(RecordError).where(RecordError.flow == flow, RecordError.direction == direction,
                                      RecordError.status.in_(_UNRESOLVED))
    if app_key is not None:
        query = query.where(RecordError.app_key == str(app_key))
    else:
        query = query.where(RecordError.app_key.is_(None), RecordError.sf_id == sf_id)
    error = session.scalars(query.order_by(RecordError.id).limit(1)).first()
    if error is None:
        error = RecordError(flow=flow, direction=direction, attempts=0,
                            app_key=None if app_key is None else str(app_key))
        session.add(error)
    error.attempts += 1
    error.status = ErrorStatus.OPEN.value
    error.operation = Operation(operation).value
    error.error_code = error_code
    error.message = message
    error.fields = list(fields)
    error.payload = jsonable(payload)
    error.run_id = run_id
    if sf_id is not None:
        error.sf_id = sf_id
    session.flush()
    return error


def open_errors(session: Session, flow: str | None = None, ids: Iterable[int] | None = None, *,
                limit: int | None = None, error_code: str | None = None) -> list[RecordError]:
    """Unresolved errors (``open`` or ``retrying``), oldest first; optionally of one flow, the given ids or
    one error code."""
    query = select(RecordError).where(RecordError.status.in_(_UNRESOLVED)).order_by(RecordError.id).limit(limit)
    if error_code is not None:
        query = query.where(RecordError.error_code == error_code)
    if flow is not None:
        query = query.where(RecordError.flow == flow)
    if ids is not None:
        query = query.where(RecordError.id.in_(list(ids)))
    return list(session.scalars(query))


def list_errors(session: Session, flow: str | None = None, include_resolved: bool = False,
                limit: int | None = None) -> list[RecordError]:
    """Errors for display, oldest first: unresolved ones, or all (resolved and ignored too)."""
    query = select(RecordError).order_by(RecordError.id).limit(limit)
    if not include_resolved:
        query = query.where(RecordError.status.in_(_UNRESOLVED))
    if flow is not None:
        query = query.where(RecordError.flow == flow)
    return list(session.scalars(query))


def set_error_status(session: Session, error_ids: Iterable[int], status: ErrorStatus | str) -> int:
    """Set the status of the given errors; returns how many there were."""
    ids = list(error_ids)
    if not ids:
        return 0
    result = session.execute(
        update(RecordError).where(RecordError.id.in_(ids))
        .values(status=ErrorStatus(status).value, updated_at=utcnow())
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount


def mark_retrying(session: Session, error: RecordError) -> None:
    """A retry of this error is under way (it stays unresolved until the record is written)."""
    error.status = ErrorStatus.RETRYING.value
    session.flush()


def mark_errors_resolved(session: Session, error_ids: Iterable[int]) -> int:
    return set_error_status(session, error_ids, ErrorStatus.RESOLVED)


def resolve_errors(session: Session, flow: str, app_key: Any = None, sf_id: str | None = None) -> int:
    """Resolve the unresolved errors of one record, named by app key or Salesforce Id (either matches: a
    failed create has no Id yet), after it was written successfully; returns how many."""
    matches = []
    if app_key is not None:
        matches.append(RecordError.app_key == str(app_key))
    if sf_id is not None:
        matches.append(RecordError.sf_id == sf_id)
    if not matches:
        return 0
    query = select(RecordError.id).where(RecordError.flow == flow, RecordError.status.in_(_UNRESOLVED),
                                         or_(*matches))
    return mark_errors_resolved(session, session.scalars(query).all())


def resolve_sending_errors(session: Session, flow: str, app_keys: Iterable[Any]) -> int:
    """Resolve the unresolved errors of sending these app rows to Salesforce (their rows went back to what
    Salesforce has, so there is nothing left to send); errors of the other direction stay. Returns how many."""
    resolved = 0
    for chunk in _chunks(sorted({str(key) for key in app_keys})):
        query = select(RecordError.id).where(RecordError.flow == flow, RecordError.status.in_(_UNRESOLVED),
                                             RecordError.direction == SyncDirection.TO_SALESFORCE.value,
                                             RecordError.app_key.in_(chunk))
        resolved += mark_errors_resolved(session, session.scalars(query).all())
    return resolved


# -- conflicts and events ---------------------------------------------------------------------------------


def record_conflict(
    session: Session,
    run_id: int | None,
    flow: str,
    app_key: Any,
    sf_id: str | None,
    policy: str,
    winner: Winner | str,
    sf_values: Mapping[str, Any],
    app_values: Mapping[str, Any],
) -> Conflict:
    """Keep both versions of a record changed on both sides, and which one won under ``policy``."""
    conflict = Conflict(run_id=run_id, flow=flow, app_key=None if app_key is None else str(app_key), sf_id=sf_id,
                        policy=str(policy), winner=Winner(winner).value, sf_values=jsonable(dict(sf_values)),
                        app_values=jsonable(dict(app_values)))
    session.add(conflict)
    session.flush()
    return conflict


def list_conflicts(session: Session, flow: str | None = None, run_id: int | None = None,
                   limit: int = 200) -> list[Conflict]:
    """Recorded conflicts, newest first; for the run log, the CLI and the dashboard."""
    query = select(Conflict).order_by(Conflict.id.desc()).limit(limit)
    if flow is not None:
        query = query.where(Conflict.flow == flow)
    if run_id is not None:
        query = query.where(Conflict.run_id == run_id)
    return list(session.scalars(query))


def record_event(
    session: Session,
    run_id: int | None,
    flow: str,
    kind: EventKind | str,
    app_key: Any = None,
    sf_id: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> Event:
    """Record a lifecycle event (``EventKind`` names, or a rule's own); rules and chains read them in id order."""
    event = Event(run_id=run_id, flow=flow, kind=str(kind), app_key=None if app_key is None else str(app_key),
                  sf_id=sf_id, details=jsonable(dict(details or {})))
    session.add(event)
    session.flush()
    return event


def last_values(session: Session, flow: str, app_keys: Iterable[Any]) -> dict[str, dict[str, Any]]:
    """The mapped values each record had at its last ``created``/``updated`` event (what was last synced), by app
    key: the "before" of an app change, from which owner changes and a flow's value events are told."""
    found: dict[str, dict[str, Any]] = {}
    for chunk in _chunks([str(key) for key in app_keys]):
        latest = (select(func.max(Event.id)).where(Event.flow == flow, Event.app_key.in_(chunk),
                                                   Event.kind.in_(("created", "updated")))
                  .group_by(Event.app_key))
        for event in session.scalars(select(Event).where(Event.id.in_(latest))):
            found[str(event.app_key)] = dict((event.details or {}).get("values") or {})
    return found


def prune_events(session: Session, before: datetime) -> int:
    """Delete events older than ``before``; answers how many.

    Kept whatever their age: each record's latest ``created``/``updated`` event (its last known values, from
    which event rules and owner changes tell what changed) and the events of runs the event loop has not
    handled yet.
    """
    latest = select(func.max(Event.id)).where(Event.kind.in_(("created", "updated"))).group_by(Event.flow,
                                                                                               Event.app_key)
    unhandled = select(Run.id).where(Run.events_handled_at.is_(None))
    result = session.execute(delete(Event).where(
        Event.created_at < before, Event.id.not_in(latest),
        or_(Event.run_id.is_(None), Event.run_id.not_in(unhandled))))
    return int(result.rowcount or 0)


def list_events_after(session: Session, after_id: int = 0, *, flow: str | None = None,
                      kinds: Iterable[str] | None = None, limit: int = 1000) -> list[Event]:
    """Events with an id above ``after_id``, oldest first (a consumer keeps the last id it handled).

    On PostgreSQL, concurrent transactions can commit ids out of order; a consumer that runs beside several
    writing flows should re-read a small window below its last id and de-duplicate by id.
    """
    query = select(Event).where(Event.id > after_id).order_by(Event.id).limit(limit)
    if flow is not None:
        query = query.where(Event.flow == flow)
    if kinds is not None:
        query = query.where(Event.kind.in_([str(kind) for kind in kinds]))
    return list(session.scalars(query))


def _chunks(values: Sequence[Any], size: int = 500) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _get(session: Session, model: type[_Row], key: Any) -> _Row:
    found = session.get(model, key)
    if found is None:
        raise LookupError(f"no {model.__name__} {key!r}")
    return found
