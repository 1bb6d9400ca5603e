"""Who wins when both sides changed the same record since the last sync: a pure decision.

A delete is a tombstone that wins over any update, so a record deleted on one side never comes back because
the other side edited it meanwhile (the "deleted records coming back" failure of other connectors).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from salesbridge.sync.config import ConflictPolicy


class Side(StrEnum):
    SALESFORCE = "salesforce"
    APP = "app"


@dataclass(frozen=True)
class ChangeStamp:
    """One side's change of a record: when, and whether it was a delete."""

    modified_at: datetime
    deleted: bool = False


def resolve(policy: ConflictPolicy, salesforce: ChangeStamp, app: ChangeStamp) -> Side:
    """The side whose version is kept. Ties under last-modified-wins go to Salesforce, the system of record."""
    if salesforce.deleted != app.deleted:
        return Side.SALESFORCE if salesforce.deleted else Side.APP
    if policy is ConflictPolicy.SALESFORCE_WINS:
        return Side.SALESFORCE
    if policy is ConflictPolicy.APP_WINS:
        return Side.APP
    return Side.APP if app.modified_at > salesforce.modified_at else Side.SALESFORCE
