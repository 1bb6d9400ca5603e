"""Read-only queries of the hub's tables for the dashboard and the record view.

The sync repository writes and reads what the engine needs; these are the views a person needs (totals per
run, the last run of each flow, a record's whole history), kept apart so that the engine's module stays small.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from salesbridge.store.models import Conflict, ErrorStatus, Event, Link, RecordError, Run, RunFlow

UNRESOLVED = (ErrorStatus.OPEN.value, ErrorStatus.RETRYING.value)


@dataclass(frozen=True)
class Totals:
    records_read: int = 0
    records_written: int = 0
    records_failed: int = 0
    conflicts: int = 0


def run_totals(session: Session, run_ids: Iterable[int]) -> dict[int, Totals]:
    ids = list(run_ids)
    if not ids:
        return {}
    query = (select(RunFlow.run_id, func.sum(RunFlow.records_read), func.sum(RunFlow.records_written),
                    func.sum(RunFlow.records_failed), func.sum(RunFlow.conflicts))
             .where(RunFlow.run_id.in_(ids)).group_by(RunFlow.run_id))
    return {row[0]: Totals(*(int(value or 0) for value in row[1:])) for row in session.execute(query)}


def list_runs(session: Session, *, flow: str | None = None, status: str | None = None, limit: int = 50,
              offset: int = 0) -> list[Run]:
    """Newest runs first; ``flow``: runs that synced that flow."""
    query = select(Run).order_by(Run.id.desc()).limit(limit).offset(offset)
    if flow is not None:
        query = query.where(select(RunFlow.run_id).where(RunFlow.run_id == Run.id,
                                                         RunFlow.flow == flow).exists())
    if status is not None:
        query = query.where(Run.status == status)
    return list(session.scalars(query))


def last_runs_by_flow(session: Session) -> dict[str, tuple[Run, RunFlow]]:
    """Each flow's most recent run and its counts in it."""
    newest = select(RunFlow.flow, func.max(RunFlow.run_id).label("run_id")).group_by(RunFlow.flow).subquery()
    query = (select(Run, RunFlow).join(RunFlow, RunFlow.run_id == Run.id)
             .join(newest, (newest.c.flow == RunFlow.flow) & (newest.c.run_id == RunFlow.run_id)))
    return {stats.flow: (run, stats) for run, stats in session.execute(query)}


def open_error_counts(session: Session, run_id: int | None = None) -> dict[str, int]:
    query = (select(RecordError.flow, func.count()).where(RecordError.status.in_(UNRESOLVED))
             .group_by(RecordError.flow))
    if run_id is not None:
        query = query.where(RecordError.run_id == run_id)
    return {flow: int(count) for flow, count in session.execute(query)}


def list_errors(session: Session, *, flow: str | None = None, status: str | None = None,
                run_id: int | None = None, limit: int = 100, offset: int = 0) -> list[RecordError]:
    """Errors newest first; ``status``: ``open`` (open and retrying), ``all``, or one exact status."""
    query = select(RecordError).order_by(RecordError.id.desc()).limit(limit).offset(offset)
    if status in (None, "open"):
        query = query.where(RecordError.status.in_(UNRESOLVED))
    elif status != "all":
        query = query.where(RecordError.status == status)
    if flow is not None:
        query = query.where(RecordError.flow == flow)
    if run_id is not None:
        query = query.where(RecordError.run_id == run_id)
    return list(session.scalars(query))


def list_links(session: Session, flow: str, *, limit: int = 100, offset: int = 0,
               include_deleted: bool = False) -> list[Link]:
    query = select(Link).where(Link.flow == flow).order_by(Link.id.desc()).limit(limit).offset(offset)
    if not include_deleted:
        query = query.where(Link.deleted.is_(False))
    return list(session.scalars(query))


def find_link(session: Session, flow: str, app_key: str | None, sf_id: str | None) -> Link | None:
    """The link of a record named by app key or Salesforce Id (15 or 18 characters)."""
    if app_key is not None:
        return session.scalar(select(Link).where(Link.flow == flow, Link.app_key == app_key))
    if sf_id is not None:
        match = Link.sf_id == sf_id if len(sf_id) == 18 else func.substr(Link.sf_id, 1, 15) == sf_id
        return session.scalar(select(Link).where(Link.flow == flow, match))
    return None


def record_history(session: Session, flow: str, app_key: str | None, sf_id: str | None,
                   limit: int = 200) -> list[dict[str, Any]]:
    """A record's events, errors and conflicts, newest first, as plain dicts (kind, at, run_id, summary,
    details)."""
    items: list[dict[str, Any]] = []
    for model, kind in ((Event, "event"), (RecordError, "error"), (Conflict, "conflict")):
        matches = []
        if app_key is not None:
            matches.append(model.app_key == app_key)
        if sf_id is not None:
            matches.append(model.sf_id == sf_id)
        if not matches:
            continue
        query = select(model).where(model.flow == flow, or_(*matches)).order_by(model.id.desc()).limit(limit)
        for row in session.scalars(query):
            items.append(_history_item(kind, row))
    items.sort(key=lambda item: item["at"], reverse=True)
    return items[:limit]


def _history_item(kind: str, row: Any) -> dict[str, Any]:
    if kind == "event":
        return {"kind": kind, "at": row.created_at, "run_id": row.run_id, "summary": row.kind,
                "details": dict(row.details or {})}
    if kind == "error":
        return {"kind": kind, "at": row.updated_at, "run_id": row.run_id,
                "summary": f"{row.operation} {row.direction}: {row.error_code} ({row.status})",
                "details": {"id": row.id, "message": row.message, "fields": row.fields,
                            "attempts": row.attempts}}
    return {"kind": kind, "at": row.created_at, "run_id": row.run_id,
            "summary": f"conflict under {row.policy}: {row.winner} won",
            "details": {"id": row.id, "salesforce": row.sf_values, "app": row.app_values}}
