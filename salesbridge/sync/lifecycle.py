"""Lifecycle events of a record beyond created/updated/deleted: won, lost, owner transferred, converted.

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
    return events


def from_app(object_name: str, sent: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Won/lost of an app change written to Salesforce, from the stage sent (an app-side owner change is an
    ``updated`` event of the owner column, which event rules can watch)."""
    stage = str(sent.get("StageName") or "").lower()
    if object_name == "Opportunity" and stage in WON_STAGES | LOST_STAGES:
        return [("won" if stage in WON_STAGES else "lost", {"origin": "app", "stage": sent["StageName"]})]
    return []
