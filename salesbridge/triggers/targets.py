"""From "run flow B because of these records of flow A" to hub runs: one run per target flow and path.

Event rules and chains both produce ``RunTarget`` requests with the app keys of the records that caused them.
``RunPlanner`` resolves which records of the target flow that means (all, the same ones, or related rows found
through a foreign-key column), merges requests for the same flow into one run, and starts the runs with the
cause that makes the chain visible (``sb_runs.parent_run_id`` and ``cause``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from salesbridge.connectors.sql import SqlTable, ValueConversionError
from salesbridge.store import repository as repo
from salesbridge.sync.engine import Targets
from salesbridge.triggers.config import RunTarget

if TYPE_CHECKING:
    from salesbridge.sync.config import FlowConfig
    from salesbridge.sync.runs import Hub, RunReport

log = logging.getLogger(__name__)

_CHUNK = 500
#: Event ids kept in a run's cause: enough to find the events, small enough for a log row.
_CAUSE_EVENTS = 50


@dataclass
class PlannedRun:
    """One run to start: a flow, for all of it (``app_keys`` None) or for some records."""

    flow: str
    path: list[str]
    app_keys: set[str] | None = field(default_factory=set)
    rules: list[str] = field(default_factory=list)
    events: list[int] = field(default_factory=list)
    chained_from: list[str] = field(default_factory=list)

    def cause(self) -> dict[str, Any]:
        cause: dict[str, Any] = {"path": self.path}
        if self.rules:
            cause["rules"] = self.rules
        if self.chained_from:
            cause["chain"] = self.chained_from
        if self.events:
            cause["events"] = self.events[:_CAUSE_EVENTS]
        return cause


class RunPlanner:
    """Collects the runs that events or chains ask for, then starts them (``trigger`` "event" or "chain")."""

    def __init__(self, hub: Hub, trigger: str, parent_run_id: int) -> None:
        self.hub = hub
        self.trigger = trigger
        self.parent_run_id = parent_run_id
        self.planned: dict[tuple[str, tuple[str, ...]], PlannedRun] = {}

    def add(self, target: RunTarget, source: FlowConfig, source_keys: Iterable[str | None], path: list[str], *,
            rule: str | None = None, event_ids: Iterable[int] = ()) -> None:
        """Ask for ``target`` to run because of the records ``source_keys`` of flow ``source``.

        A disabled target flow is not run: ``enabled: false`` stops a flow whatever would start it.
        """
        if not self.hub.config.flow(target.flow).enabled:
            log.info("%s run of %s skipped: the flow is disabled", self.trigger, target.flow)
            return
        child_path = [*path, target.flow]
        planned = self.planned.setdefault((target.flow, tuple(child_path)), PlannedRun(target.flow, child_path))
        if rule is not None and rule not in planned.rules:
            planned.rules.append(rule)
        if rule is None and source.name not in planned.chained_from:
            planned.chained_from.append(source.name)
        planned.events.extend(event_ids)
        if planned.app_keys is None:
            return
        keys = {key for key in source_keys if key is not None}
        if target.for_ == "all":
            planned.app_keys = None
        elif target.for_ == "record":
            planned.app_keys |= keys
        else:
            assert target.via is not None
            planned.app_keys |= related_keys(self.hub.engine, self.hub.config.flow(target.flow), target.via, keys)

    def execute(self) -> list[RunReport]:
        """Start the planned runs in the order they were asked for; a run with no records left is skipped."""
        reports = []
        for planned in self.planned.values():
            if planned.app_keys is None:
                reports.append(self.hub.sync([planned.flow], trigger=self.trigger, parent_run_id=self.parent_run_id,
                                             cause=planned.cause()))
                continue
            targets = record_targets(self.hub.engine, self.hub.config.flow(planned.flow), planned.app_keys)
            if targets.app_keys or targets.sf_ids:
                reports.append(self.hub.sync_records(planned.flow, targets, trigger=self.trigger,
                                                     parent_run_id=self.parent_run_id, cause=planned.cause()))
            else:
                log.info("%s run of %s skipped: no related records", self.trigger, planned.flow)
        self.planned.clear()
        return reports


def related_keys(engine: Engine, flow: FlowConfig, via: str, keys: Iterable[str]) -> set[str]:
    """Keys of the rows of ``flow``'s table whose column ``via`` holds one of ``keys`` (its parent's key).

    Keys that cannot be a value of ``via`` (text for a numeric column) match nothing. A missing column raises
    ``TableShapeError`` naming table and column.
    """
    table = SqlTable(engine, flow.table, key_column=flow.key.app)
    wanted = []
    for key in keys:
        try:
            wanted.append(table.convert(via, key))
        except ValueConversionError:
            continue
    found: set[str] = set()
    column = table.table.c[via]
    with engine.connect() as connection:
        for start in range(0, len(wanted), _CHUNK):
            query = select(table.key).where(column.in_(wanted[start:start + _CHUNK]))
            found.update(table.key_text(key) for key in connection.execute(query).scalars())
    return found


def record_targets(engine: Engine, flow: FlowConfig, app_keys: Iterable[str]) -> Targets:
    """The records to sync for these app keys: the rows themselves for a flow that sends to Salesforce; for a
    flow that only reads Salesforce, the linked Salesforce records (keys without a link are left out)."""
    keys = sorted(set(app_keys))
    if flow.direction.sends():
        return Targets(app_keys=keys)
    with Session(engine) as session:
        links = repo.links_by_app_key(session, flow.name, keys)
    return Targets(sf_ids=sorted(link.sf_id for link in links.values() if link.sf_id and not link.deleted))
