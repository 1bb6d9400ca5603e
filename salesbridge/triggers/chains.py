"""Chains: after a run, the flows that the written flows chain to run too (``chain.then`` on a flow).

"What a flow wrote in a run" is read back from the events the engine recorded for that run, so a chain is a
function of the stored state like every other unit of work: the same run followed from another process
gives the same chained runs. Each chained run is a run of its own in the log, with trigger ``chain``, the
run that caused it as ``parent_run_id``, and the path of flows in ``cause`` (which is also the loop guard).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesbridge.store.models import Event
from salesbridge.triggers.rules import chain_path, refusal
from salesbridge.triggers.targets import RunPlanner

if TYPE_CHECKING:
    from salesbridge.sync.runs import Hub, RunReport

log = logging.getLogger(__name__)


def follow_chains(hub: Hub, report: RunReport, cause: Mapping[str, Any] | None) -> list[RunReport]:
    """Run what the flows written in ``report``'s run chain to, then (inside those runs) what they chain to.

    ``cause`` is the finished run's own cause (None for a run started by a person or a schedule).
    """
    chained = {flow.name: flow for flow in hub.config.flows if flow.chain is not None}
    ran = [result.flow for result in report.results if result.flow in chained]
    if not ran:
        return []
    written = _written_keys(hub, report.run_id, ran)
    planner = RunPlanner(hub, "chain", report.run_id)
    for name in ran:
        chain = chained[name].chain
        assert chain is not None
        writes = {kind: keys for kind, keys in written.get(name, {}).items() if kind in chain.events}
        if not writes:
            continue
        keys = set().union(*writes.values())
        path = chain_path(cause, name)
        for target in chain.then:
            reason = refusal(path, target.flow)
            if reason is not None:
                log.warning("chain from run %s: %s: not running it", report.run_id, reason)
                continue
            try:
                planner.add(target, chained[name], keys, path)
            except Exception:  # a broken chain (a missing 'via' column) must not undo the finished run
                log.exception("chain from run %s to flow %s failed", report.run_id, target.flow)
    return planner.execute()


def _written_keys(hub: Hub, run_id: int, flows: list[str]) -> dict[str, dict[str, set[str | None]]]:
    """App keys written per flow and event kind in one run."""
    found: dict[str, dict[str, set[str | None]]] = defaultdict(lambda: defaultdict(set))
    query = select(Event.flow, Event.kind, Event.app_key).where(Event.run_id == run_id, Event.flow.in_(flows))
    with Session(hub.engine) as session:
        for flow, kind, app_key in session.execute(query):
            found[flow][kind].add(app_key)
    return found
