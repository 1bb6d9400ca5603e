"""A reference model of two-way sync, for the convergence property test: what each side should hold.

Pure Python, no servers. It states the documented semantics (DESIGN.md "Sync semantics", sync/plan.py) in the
simplest form, record by record, so that the engine's output can be checked against it after every sync:

- A side has *changed* a record when its mapped values differ from what both sides held after the last sync
  that carried the record; edits that end where they started are no change (the hash rule of the plan).
- A delete on either side removes the record from both, whatever the other side did (a tombstone wins).
- Both sides changed to different values: last modified wins, ties to Salesforce. Salesforce's time is the
  record's LastModifiedDate; the app's is the change log's time of its last write, which the test only knows
  to lie between two clock readings (``Moment``). When the two overlap the model cannot tell the winner and
  accepts either version (``Entity.either``); the test spaces its writes so that this does not happen.
- One sync carries every pending change across: after it both sides hold the same values.

Values are compared in the app's form (``Values``): a Salesforce record is translated through the flow's value
map before it is compared.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

#: The mapped app columns, in a fixed order: ``Values`` are tuples in this order.
FIELDS = ("first_name", "last_name", "company", "email", "stage")
#: Salesforce field of each mapped column.
SALESFORCE_FIELDS = {"first_name": "FirstName", "last_name": "LastName", "company": "Company", "email": "Email",
                     "stage": "Status"}
PIPELINE = {"New": "Open - Not Contacted", "Qualified": "Working - Contacted", "Lost": "Closed - Not Converted"}
STAGE_OF_STATUS = {status: stage for stage, status in PIPELINE.items()}

Values = tuple[str | None, ...]


def values_from_app_row(row: dict[str, object]) -> Values:
    return tuple(None if row.get(name) is None else str(row[name]) for name in FIELDS)


def values_from_salesforce(record: dict[str, object]) -> Values:
    """A Lead in the app's form; a Status outside the value map stays visible as ``?<status>``."""
    out: list[str | None] = []
    for name in FIELDS:
        value = record.get(SALESFORCE_FIELDS[name])
        if name == "stage" and value is not None:
            value = STAGE_OF_STATUS.get(str(value), f"?{value}")
        out.append(None if value is None else str(value))
    return tuple(out)


def salesforce_payload(changes: dict[str, str | None]) -> dict[str, str | None]:
    """App-form column values as Lead field values."""
    return {SALESFORCE_FIELDS[name]: (PIPELINE[value] if name == "stage" and value else value)
            for name, value in changes.items()}


def with_changes(values: Values, changes: dict[str, str | None]) -> Values:
    return tuple(changes.get(name, current) for name, current in zip(FIELDS, values, strict=True))


def as_dict(values: Values | None) -> dict[str, str | None] | None:
    return None if values is None else dict(zip(FIELDS, values, strict=True))


@dataclass(frozen=True)
class Moment:
    """When an app write happened: between two readings of the clock (its change-log time is truncated to
    milliseconds, as are Salesforce's stamps)."""

    earliest: datetime
    latest: datetime


def later_side(app: Moment, salesforce: datetime) -> str | None:
    """Which side modified last under last-modified-wins ("app" or "salesforce"; ties go to Salesforce), or
    None when the readings do not tell."""
    if app.earliest > salesforce:
        return "app"
    if app.latest <= salesforce:
        return "salesforce"
    return None


@dataclass(eq=False)
class Entity:
    """One logical record, on one or both sides. ``label`` names it in failure messages (``app1``, ``sf2``)."""

    label: str
    app_key: str | None = None
    sf_id: str | None = None
    app: Values | None = None
    salesforce: Values | None = None
    #: What both sides held after the last sync that carried the record; None before that.
    synced: Values | None = None
    app_deleted: bool = False
    sf_deleted: bool = False
    app_written: Moment | None = None
    sf_written: datetime | None = None
    #: Deleted on both sides (or never got across before being deleted): must be absent everywhere.
    gone: bool = False
    #: The winner could not be told apart (see ``Moment``): either version is right.
    either: tuple[Values, Values] | None = None

    def __repr__(self) -> str:
        return self.label

    @property
    def app_changed(self) -> bool:
        return self.app_deleted or (self.app is not None and self.app != self.synced)

    @property
    def sf_changed(self) -> bool:
        return self.sf_deleted or (self.salesforce is not None and self.salesforce != self.synced)


@dataclass
class SyncExpectation:
    """What the model expects of one sync besides the end state."""

    #: Records both sides changed to different values (a delete against a real update counts too).
    conflicts: list[Entity] = field(default_factory=list)
    #: How each conflict is settled: "app", "salesforce", "delete" or "unknown" (for test statistics).
    outcomes: list[str] = field(default_factory=list)


class Model:
    """Every entity the test made, and what one sync should do to them."""

    def __init__(self) -> None:
        self.entities: list[Entity] = []
        self._counts = {"app": 0, "sf": 0}

    def _new(self, side: str) -> Entity:
        self._counts[side] += 1
        entity = Entity(f"{side}{self._counts[side]}")
        self.entities.append(entity)
        return entity

    # -- edits ------------------------------------------------------------------------------------------
    def app_created(self, key: str, values: Values, at: Moment) -> Entity:
        """A new row; one that re-uses the key of a row deleted since the last sync continues that record.

        The change log speaks of keys: a delete and an insert of one key between two syncs read as "row
        ``key`` changed", and the external id (the app key) names the same Salesforce record. A key re-used
        after the delete was synced is a new record.
        """
        reborn = next((e for e in self.live() if e.app_key == key and e.app_deleted), None)
        if reborn is not None:
            reborn.app, reborn.app_deleted, reborn.app_written = values, False, at
            return reborn
        entity = self._new("app")
        entity.app_key, entity.app, entity.app_written = key, values, at
        return entity

    def sf_created(self, sf_id: str, values: Values, at: datetime) -> Entity:
        entity = self._new("sf")
        entity.sf_id, entity.salesforce, entity.sf_written = sf_id, values, at
        return entity

    @staticmethod
    def app_updated(entity: Entity, values: Values, at: Moment) -> None:
        entity.app, entity.app_written = values, at

    @staticmethod
    def sf_updated(entity: Entity, values: Values, at: datetime) -> None:
        entity.salesforce, entity.sf_written = values, at

    @staticmethod
    def app_removed(entity: Entity) -> None:
        entity.app, entity.app_deleted = None, True

    @staticmethod
    def sf_removed(entity: Entity) -> None:
        entity.salesforce, entity.sf_deleted = None, True

    # -- what exists ------------------------------------------------------------------------------------
    def live(self) -> list[Entity]:
        return [e for e in self.entities if not e.gone]

    def on_app(self) -> list[Entity]:
        return [e for e in self.entities if e.app is not None]

    def on_salesforce(self) -> list[Entity]:
        return [e for e in self.entities if e.salesforce is not None]

    def on_both_sides(self) -> list[Entity]:
        return [e for e in self.entities if e.app is not None and e.salesforce is not None]

    # -- one sync ---------------------------------------------------------------------------------------
    def sync(self) -> SyncExpectation:
        """Apply one sync to the model; the test then compares both sides with it."""
        expectation = SyncExpectation()
        for entity in self.live():
            self._sync_one(entity, expectation)
        return expectation

    def _sync_one(self, entity: Entity, expectation: SyncExpectation) -> None:
        entity.either = None
        if entity.app_deleted or entity.sf_deleted:
            if entity.synced is not None and self._update_against_delete(entity):
                expectation.conflicts.append(entity)
                expectation.outcomes.append("delete")
            entity.app = entity.salesforce = None
            entity.gone = True
        elif entity.synced is None:  # new on one side: copied to the other
            entity.synced = entity.app if entity.app is not None else entity.salesforce
        elif entity.app_changed and entity.sf_changed and entity.app != entity.salesforce:
            expectation.conflicts.append(entity)
            assert entity.app_written is not None and entity.sf_written is not None
            winner = later_side(entity.app_written, entity.sf_written)
            expectation.outcomes.append(winner or "unknown")
            if winner is None:
                entity.either = (entity.app, entity.salesforce)  # type: ignore[assignment]
            entity.synced = entity.app if winner == "app" else entity.salesforce
        elif entity.app_changed:
            entity.synced = entity.app
        elif entity.sf_changed:
            entity.synced = entity.salesforce
        if not entity.gone:
            entity.app = entity.salesforce = entity.synced
        entity.app_written = entity.sf_written = None

    @staticmethod
    def _update_against_delete(entity: Entity) -> bool:
        """One side deleted a record that the other side really changed."""
        if entity.app_deleted and entity.sf_deleted:
            return False
        survivor = entity.salesforce if entity.app_deleted else entity.app
        return survivor is not None and survivor != entity.synced

    @staticmethod
    def settle(entity: Entity, observed: Values) -> None:
        """The engine's pick where the model could not tell the winner (``Entity.either``)."""
        assert entity.either is not None and observed in entity.either, (entity, observed, entity.either)
        entity.app = entity.salesforce = entity.synced = observed
        entity.either = None
