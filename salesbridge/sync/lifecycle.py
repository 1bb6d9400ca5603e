"""Lifecycle events of a record beyond created/updated/deleted: won, lost, owner transferred, converted, and a
flow's own events named by column values (``events:`` in a flow).

Pure: given what the engine knows at a write (the Salesforce record, the mapped app values before and after,
or the values sent), say which events happened. The engine records them in ``sb_events``, where event rules
and the run log read them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from salesbridge.sync.mapping import Mapper, canonical

#: Opportunity stages that close a deal in a default org; a closed record's IsWon tells them apart too.
WON_STAGES = frozenset({"closed won"})
LOST_STAGES = frozenset({"closed lost"})
#: Fields the engine adds to Opportunity polls so that won/lost are known without a describe call.
OPPORTUNITY_FLAGS = ("IsClosed", "IsWon")


def _column_for(mapper: Mapper, sf_field: str) -> str | None:
    return next((f.app for f in mapper.flow.fields if f.salesforce.lower() == sf_field.lower()), None)


def _changed(before: Mapping[str, Any] | None, after: Mapping[str, Any], column: str | None) -> bool:
    if column is None or column not in after:
        return False
    return before is None or canonical(before.get(column)) != canonical(after.get(column))


def from_salesforce(object_name: str, mapper: Mapper, record: Mapping[str, Any],
                    before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Events of a Salesforce change written into the app (``before`` is None for a new row)."""
    events: list[tuple[str, dict[str, Any]]] = []
    if object_name == "Opportunity" and record.get("IsClosed"):
        stage_column = _column_for(mapper, "StageName")
        if _changed(before, after, stage_column):
            kind = "won" if record.get("IsWon") else "lost"
            events.append((kind, {"origin": "salesforce", "stage": record.get("StageName")}))
    owner_column = _column_for(mapper, "OwnerId")
    if before is not None and _changed(before, after, owner_column):
        events.append(("owner_changed", {"origin": "salesforce", "from": before.get(owner_column),
                                         "to": after.get(owner_column)}))
    events.extend(value_events(mapper.flow.events, before, after, "salesforce"))
    return events


def from_app(object_name: str, sent: Mapping[str, Any], mapper: Mapper | None = None,
             before: Mapping[str, Any] | None = None,
             after: Mapping[str, Any] | None = None) -> list[tuple[str, dict[str, Any]]]:
    """Events of an app change written to Salesforce: won/lost from the Opportunity stage sent; with the mapped
    values before (None: a new record) and after the change, an owner change and the flow's value events."""
    events: list[tuple[str, dict[str, Any]]] = []
    stage = str(sent.get("StageName") or "").lower()
    if object_name == "Opportunity" and stage in WON_STAGES | LOST_STAGES:
        events.append(("won" if stage in WON_STAGES else "lost", {"origin": "app", "stage": sent["StageName"]}))
    if mapper is None or after is None:
        return events
    owner_column = _column_for(mapper, "OwnerId")
    if before is not None and owner_column in before and _changed(before, after, owner_column):
        events.append(("owner_changed", {"origin": "app", "from": before.get(owner_column),
                                         "to": after.get(owner_column)}))
    events.extend(value_events(mapper.flow.events, before, after, "app"))
    return events


def value_events(events: Mapping[str, Mapping[str, str]], before: Mapping[str, Any] | None,
                 after: Mapping[str, Any], origin: str) -> list[tuple[str, dict[str, Any]]]:
    """The flow's own events (``events: {lost: {stage: Lost}}``): recorded when a record enters the values, i.e.
    holds them after the change and did not before (or is new), so an unrelated edit records nothing again."""
    found = []
    for kind, wanted in events.items():
        if holds(after, wanted) and (before is None or not holds(before, wanted)):
            found.append((kind, {"origin": origin, **{column: after.get(column) for column in wanted}}))
    return found


def holds(values: Mapping[str, Any], wanted: Mapping[str, str]) -> bool:
    """Whether ``values`` has every column of ``wanted`` with its value (compared as text, as YAML gives it)."""
    return all(column in values and canonical(values[column]) == canonical(value) for column, value in wanted.items())
