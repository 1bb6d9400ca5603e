"""Event rules and the loop guard as pure functions: which recorded events a rule reacts to, and whether a
triggered flow may run.

What an event carries (written by the sync engine into ``sb_events.details``):
- ``origin``: where the change was made, ``app`` or ``salesforce``;
- ``values``: the record's mapped app-side values after the write (created and updated events);
- ``old``: the values before, for writes into the app (the engine read the row it overwrote).
For a change made in the app the engine never saw the old row, so the previous values are the ``values`` of
the record's previous event (its snapshot). When neither is known, a watched field counts as changed: a rule
then fires once too often rather than never (the flows it runs are idempotent syncs).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from salesbridge.sync.mapping import canonical
from salesbridge.triggers.config import RunTarget, watched_column

if TYPE_CHECKING:
    from salesbridge.sync.config import HubConfig

#: The longest chain of flows one change may set off (a -> b -> c ...), whatever the configuration says.
MAX_CHAIN_LENGTH = 5

#: Which recorded kinds each rule event matches; any other name (won, converted...) matches itself.
_KINDS = {"status": frozenset({"created", "updated"})}
_UNKNOWN: Any = object()
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


@dataclass(frozen=True)
class EventFacts:
    """One recorded event with what rules look at. ``old`` is None when the previous values are unknown."""

    id: int
    flow: str
    kind: str
    app_key: str | None
    origin: str | None = None
    values: Mapping[str, Any] | None = None
    old: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class CompiledRule:
    """A rule with its field resolved to the app column events carry and ``becomes`` in app values."""

    name: str
    flow: str
    kinds: frozenset[str]
    side: str | None
    column: str | None
    becomes: Any
    targets: tuple[RunTarget, ...]


def compile_rules(config: HubConfig) -> list[CompiledRule]:
    """The enabled rules of a (validated) configuration, ready to match."""
    flows = {flow.name: flow for flow in config.flows}
    rules = []
    for rule in config.triggers:
        if not rule.enabled:
            continue
        column, becomes = None, rule.on.becomes
        if rule.on.field is not None:
            column, becomes = watched_column(flows[rule.on.flow], config.value_maps, rule.on.field, becomes)
        rules.append(CompiledRule(rule.name, rule.on.flow, _KINDS.get(rule.on.event, frozenset({rule.on.event})),
                                  None if rule.on.side == "any" else rule.on.side, column, becomes,
                                  tuple(rule.run)))
    return rules


def rule_matches(rule: CompiledRule, event: EventFacts) -> bool:
    """Does ``event`` satisfy ``rule``'s flow, kind, side and (if any) field condition?"""
    if event.flow != rule.flow or event.kind not in rule.kinds:
        return False
    if rule.side is not None and event.origin != rule.side:
        return False
    if rule.column is None:
        return True
    if event.values is None or rule.column not in event.values:
        return False  # recorded without values: nothing to compare
    new = event.values[rule.column]
    previous = _previous(event, rule.column)
    if rule.becomes is not None:
        return same_value(new, rule.becomes) and (previous is _UNKNOWN or not same_value(previous, rule.becomes))
    if event.kind == "created":
        return new is not None
    return previous is _UNKNOWN or not same_value(previous, new)


def match_events(rules: Sequence[CompiledRule], events: Sequence[EventFacts]) -> list[tuple[CompiledRule,
                                                                                              EventFacts]]:
    """Every (rule, event) pair that matches, in event order then rule order."""
    return [(rule, event) for event in events for rule in rules if rule_matches(rule, event)]


def changed_columns(values: Mapping[str, Any], old: Mapping[str, Any] | None) -> list[str] | None:
    """Columns whose value differs between ``old`` and ``values``; None when ``old`` is unknown."""
    if old is None:
        return None
    return [column for column, value in values.items() if column not in old or not same_value(old[column], value)]


def same_value(left: Any, right: Any) -> bool:
    """Equal as data: ``100`` and ``"100.00"`` are one number; ``1``, ``"true"`` and ``True`` one boolean
    (SQLite keeps booleans as 0/1, YAML writes ``true``)."""
    if isinstance(left, bool) or isinstance(right, bool):
        return _truth(left) is not None and _truth(left) == _truth(right)
    if isinstance(left, int | float | Decimal) or isinstance(right, int | float | Decimal):
        # Events keep decimals as JSON text ("100.00"); a number from YAML must still equal it.
        left_number, right_number = _number(left), _number(right)
        if left_number is not None and right_number is not None:
            return left_number == right_number
    return canonical(left) == canonical(right)


def _number(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        return None


def _truth(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        return True if text in _TRUE else False if text in _FALSE else None
    return None


def _previous(event: EventFacts, column: str) -> Any:
    if event.kind == "created":
        return None  # nothing came before
    if event.old is None or column not in event.old:
        return _UNKNOWN
    return event.old[column]


# -- the loop guard ---------------------------------------------------------------------------------------


def chain_path(cause: Mapping[str, Any] | None, flow: str) -> list[str]:
    """The flows that led to a write in ``flow``, ending with ``flow``.

    A run started by a person or a schedule has no cause: its path is just the flow. A run started by an
    event rule or a chain stores its path in ``sb_runs.cause``.
    """
    path = [str(name) for name in (cause or {}).get("path", [])]
    if not path or path[-1] != flow:
        path.append(flow)
    return path


def refusal(path: Sequence[str], target: str, max_length: int = MAX_CHAIN_LENGTH) -> str | None:
    """Why ``target`` may not run after ``path`` (None: it may): a chain never re-enters a flow already in it
    and never grows past ``max_length`` flows."""
    if target in path:
        return f"flow '{target}' is already in the chain {' -> '.join(path)}"
    if len(path) >= max_length:
        return f"the chain {' -> '.join(path)} is at its limit of {max_length} flows"
    return None
