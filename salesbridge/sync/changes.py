"""What changed on each side since the last sync, as plain data the engine plans from.

Salesforce changes come from one queryAll per poll (``SystemModstamp >= watermark - overlap``, deleted rows
included), de-duplicated by Id keeping the newest stamp. App changes come from the change log that database
triggers fill, collapsed per row key. Both are pure data: planning on them needs no servers.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from salesbridge.salesforce.datetimes import format_datetime, parse_datetime

#: Fields the engine always reads besides the mapped ones.
SYSTEM_FIELDS = ("Id", "SystemModstamp", "LastModifiedDate", "IsDeleted")


@dataclass
class SalesforceChange:
    """The latest state of one Salesforce record seen in this poll."""

    sf_id: str
    modstamp: str
    modified_at: datetime
    deleted: bool
    record: dict[str, Any]


@dataclass
class AppChange:
    """All change-log entries of one app row since the last sync, collapsed."""

    app_key: str
    changed_at: datetime
    log_ids: list[int] = field(default_factory=list)
    deleted: bool = False
    row: dict[str, Any] | None = None


def salesforce_poll_query(object_name: str, fields: Iterable[str], since: str | None, overlap_seconds: int,
                          condition: str | None) -> str:
    """The SOQL of one poll: every mapped field, changed since the watermark minus the overlap window.

    The overlap re-reads records whose transactions committed late (their stamp is older than the newest
    stamp already seen); the engine drops re-reads that change nothing by comparing hashes.
    """
    wanted: list[str] = []
    for name in (*SYSTEM_FIELDS, *fields):
        if name.lower() not in (w.lower() for w in wanted):
            wanted.append(name)
    clauses = []
    if since:
        start = parse_datetime(since) - timedelta(seconds=overlap_seconds)
        clauses.append(f"SystemModstamp >= {start.strftime('%Y-%m-%dT%H:%M:%SZ')}")
    if condition:
        clauses.append(f"({condition})")
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    return f"SELECT {', '.join(wanted)} FROM {object_name}{where} ORDER BY SystemModstamp, Id"


def collect_salesforce_changes(records: Iterable[dict[str, Any]]) -> list[SalesforceChange]:
    """De-duplicate polled records by Id (newest SystemModstamp wins), ordered by stamp then Id."""
    latest: dict[str, SalesforceChange] = {}
    for record in records:
        sf_id = record["Id"]
        modstamp = record["SystemModstamp"]
        current = latest.get(sf_id)
        if current is not None and parse_datetime(current.modstamp) >= parse_datetime(modstamp):
            continue
        modified = record.get("LastModifiedDate") or modstamp
        clean = {k: v for k, v in record.items() if k != "attributes"}
        latest[sf_id] = SalesforceChange(sf_id, modstamp, parse_datetime(modified), bool(record.get("IsDeleted")),
                                         clean)
    return sorted(latest.values(), key=lambda c: (parse_datetime(c.modstamp), c.sf_id))


def newest_stamp(changes: Iterable[SalesforceChange], current: str | None,
                 settled_before: datetime | None = None) -> str | None:
    """The watermark after ``changes`` are applied: the newest SystemModstamp, never moving backwards.

    ``settled_before`` is the poll's start less the overlap window: nothing stamped before it can still commit,
    so a quiet poll moves the watermark up to it. Without that, the window behind the last change (a whole bulk
    load, say) would be re-read by every poll until the next change.
    """
    newest = parse_datetime(current) if current else None
    for change in changes:
        stamp = parse_datetime(change.modstamp)
        if newest is None or stamp > newest:
            newest = stamp
    if newest is not None and settled_before is not None and settled_before > newest:
        newest = settled_before
    return format_datetime(newest) if newest else None


def collapse_app_changes(entries: Iterable[Any]) -> dict[str, AppChange]:
    """Fold change-log entries (``id, row_key, op, changed_at``) into one AppChange per row key."""
    collapsed: dict[str, AppChange] = {}
    for entry in entries:
        key = str(entry.row_key)
        change = collapsed.get(key)
        if change is None:
            change = collapsed[key] = AppChange(key, entry.changed_at)
        change.log_ids.append(entry.id)
        change.changed_at = max(change.changed_at, entry.changed_at)
        change.deleted = entry.op == "D"
    return collapsed
