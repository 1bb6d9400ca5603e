"""The event loop: read the events of finished runs, match them against the event rules, run what they name.

The unit of progress is a finished run, not an event id: a run's events are all committed before the run is
marked finished, so handling whole finished runs (``sb_runs.events_handled_at`` IS NULL) never skips an event
that a slower, concurrent transaction commits later with a lower id (which an id cursor would, on
PostgreSQL). A run is marked handled after the runs its events started have finished: a crash in between
handles it again (at least once; the triggered syncs are idempotent). Runs started here are runs like any
other, so their events are matched in turn, under the loop guard of ``rules.refusal``.

One event loop per hub database (``salesbridge run``): two loops would each handle the same runs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesbridge.store.models import Event, Run, utcnow
from salesbridge.triggers.rules import CompiledRule, EventFacts, chain_path, compile_rules, match_events, refusal
from salesbridge.triggers.targets import RunPlanner

if TYPE_CHECKING:
    from salesbridge.sync.runs import Hub, RunReport

log = logging.getLogger(__name__)

#: Finished runs handled per poll (the rest wait for the next one).
RUNS_PER_POLL = 100


class EventLoop:
    """Handles the events of finished runs; ``poll`` is one pass (the service calls it every few seconds)."""

    def __init__(self, hub: Hub, rules: list[CompiledRule] | None = None) -> None:
        self.hub = hub
        self.rules = compile_rules(hub.config) if rules is None else rules

    def pending_runs(self, limit: int = RUNS_PER_POLL) -> list[int]:
        """Finished runs whose events are not handled yet, oldest first."""
        query = (select(Run.id).where(Run.finished_at.is_not(None), Run.events_handled_at.is_(None))
                 .order_by(Run.id).limit(limit))
        with Session(self.hub.engine) as session:
            return list(session.scalars(query))

    def poll(self) -> list[RunReport]:
        """Handle every pending run once; returns the reports of the runs the rules started."""
        reports: list[RunReport] = []
        for run_id in self.pending_runs():
            reports.extend(self.handle_run(run_id))
        return reports

    def handle_run(self, run_id: int) -> list[RunReport]:
        """Match one finished run's events, start the runs they ask for, then mark the run handled."""
        with Session(self.hub.engine) as session:
            run = session.get(Run, run_id)
            cause = run.cause if run is not None else None
            facts = self._facts(session, run_id)
        reports = self._start(run_id, cause, facts) if facts else []
        with Session(self.hub.engine) as session, session.begin():
            run = session.get(Run, run_id)
            if run is not None:
                run.events_handled_at = utcnow()
        return reports

    def _facts(self, session: Session, run_id: int) -> list[EventFacts]:
        flows = {rule.flow for rule in self.rules}
        if not flows:
            return []
        query = select(Event).where(Event.run_id == run_id, Event.flow.in_(flows)).order_by(Event.id)
        return [event_facts(session, event) for event in session.scalars(query)]

    def _start(self, run_id: int, cause: Mapping[str, Any] | None, facts: list[EventFacts]) -> list[RunReport]:
        # One request per rule, target and path, with the keys of all its events: related rows are then looked
        # up once per target, not once per event.
        grouped: dict[tuple[str, int, tuple[str, ...]], tuple[CompiledRule, list[EventFacts]]] = {}
        for rule, event in match_events(self.rules, facts):
            path = tuple(chain_path(cause, event.flow))
            for index in range(len(rule.targets)):
                grouped.setdefault((rule.name, index, path), (rule, []))[1].append(event)
        planner = RunPlanner(self.hub, "event", run_id)
        for (_, index, path), (rule, events) in grouped.items():
            target = rule.targets[index]
            reason = refusal(path, target.flow)
            if reason is not None:
                log.warning("rule %s after run %s: %s: not running it", rule.name, run_id, reason)
                continue
            try:
                planner.add(target, self.hub.config.flow(rule.flow), [e.app_key for e in events], list(path),
                            rule=rule.name, event_ids=[e.id for e in events])
            except Exception:  # a broken target (a missing 'via' column) must not block the loop
                log.exception("rule %s after run %s: cannot run flow %s", rule.name, run_id, target.flow)
        return planner.execute()


def event_facts(session: Session, event: Event) -> EventFacts:
    """What rules see of a stored event; for an update without ``old`` values, the previous event's values."""
    details: dict[str, Any] = event.details or {}
    values = details.get("values")
    old = details.get("old")
    if event.kind == "updated" and old is None and values is not None and event.app_key is not None:
        old = previous_values(session, event)
    return EventFacts(event.id, event.flow, event.kind, event.app_key, details.get("origin"), values, old)


def previous_values(session: Session, event: Event) -> dict[str, Any] | None:
    """The record's values as of its previous event in the same flow (its last known state), or None."""
    query = (select(Event.kind, Event.details)
             .where(Event.flow == event.flow, Event.app_key == event.app_key, Event.id < event.id,
                    Event.kind.in_(("created", "updated", "deleted")))
             .order_by(Event.id.desc()).limit(1))
    row = session.execute(query).first()
    if row is None or row.kind == "deleted":
        return None
    values = (row.details or {}).get("values")
    return dict(values) if isinstance(values, dict) else None

