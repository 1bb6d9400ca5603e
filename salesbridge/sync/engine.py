"""One sync of one flow: gather changes, plan, write, and commit the state that covers the writes.

The order of commits is what makes a crash harmless:
- App writes, their links, their change-log acknowledgements and the Salesforce watermark commit in one
  database transaction (the hub's tables live in the app's database).
- Salesforce writes cannot join that transaction, so they happen first and the links and acknowledgements that
  cover them commit right after, per chunk. A crash in between re-sends the chunk on restart: updates and
  deletes are idempotent, and creates are too when the flow has an external id (they go through upsert).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from salesbridge.connectors.sql import SqlTable, ack_changes, hub_writes, read_changes
from salesbridge.salesforce import SalesforceClient, WriteResult
from salesbridge.store import repository as repo
from salesbridge.sync import lifecycle
from salesbridge.sync.changes import (
    AppChange,
    SalesforceChange,
    collapse_app_changes,
    collect_salesforce_changes,
    newest_stamp,
    salesforce_poll_query,
)
from salesbridge.sync.config import Direction, FlowConfig, HubConfig
from salesbridge.sync.conflicts import Side
from salesbridge.sync.conversions import ConversionSteps
from salesbridge.sync.creates import CreateRules
from salesbridge.sync.lookups import UNLINKED_REFERENCE, Lookups, UserDirectory
from salesbridge.sync.mapping import Mapper, MappingError, canonical, jsonable, values_hash
from salesbridge.sync.plan import Deletion, FlowPlan, LinkState, PlannedError, ToApp, ToSalesforce, plan_flow
from salesbridge.sync.rules import flag_condition
from salesbridge.sync.twins import TwinFinder

SF_WATERMARK = "sf_modstamp"
CONVERSION_FIELDS = ("IsConverted", "ConvertedAccountId", "ConvertedContactId", "ConvertedOpportunityId")
APP_INITIALIZED = "app_initialized"
APP_CHUNK = 500
#: When a row of the first run's every-row pass changed: unknown, so it never beats the other side's edit in a
#: last-modified conflict. The row is sent because it was never synced, not because someone just edited it; a
#: run after a crash in the first run meets Salesforce edits of records it had already created.
UNKNOWN_CHANGE_TIME = datetime.min.replace(tzinfo=UTC)
COLLECTION_SIZE = 200

Progress = Callable[[str, int], None]


@dataclass
class Targets:
    """Restrict a sync to given records (manual "sync now" and retries); watermarks are then left alone."""

    app_keys: list[str] = field(default_factory=list)
    sf_ids: list[str] = field(default_factory=list)


@dataclass
class FlowResult:
    flow: str
    records_read: int = 0
    written_to_app: int = 0
    written_to_salesforce: int = 0
    failed: int = 0
    conflicts: int = 0
    deletes: int = 0
    api_calls: int = 0

    @property
    def records_written(self) -> int:
        return self.written_to_app + self.written_to_salesforce


@dataclass
class Lane:
    """One Salesforce object a flow's records live on: the flow's own, or where its converted leads went.

    A flow with lead conversion followed has two lanes; each has its own mapping and watermark, and the second
    only keeps records an app row is linked to (it never imports the object wholesale).
    """

    object_name: str
    mapper: Mapper
    watermark: str
    primary: bool


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class FlowSync(ConversionSteps, CreateRules):
    """Runs one flow once against one org and one app database."""

    def __init__(self, hub: HubConfig, flow: FlowConfig, client: SalesforceClient, engine: Engine, run_id: int,
                 progress: Progress | None = None, users: UserDirectory | None = None) -> None:
        self.hub = hub
        self.flow = flow
        self.client = client
        self.engine = engine
        self.run_id = run_id
        self.progress = progress or (lambda _stage, _count: None)
        self.lookups = Lookups(engine, client, users)
        self.lanes = [Lane(flow.salesforce, Mapper(flow, hub.value_maps, self.lookups), SF_WATERMARK, True)]
        for object_name in dict.fromkeys(o.to for o in (flow.conversion, flow.route) if o is not None):
            target = flow.model_copy(update={"salesforce": object_name, "fields": flow.lane_fields(object_name)})
            self.lanes.append(Lane(object_name, Mapper(target, hub.value_maps, self.lookups),
                                   f"{SF_WATERMARK}:{object_name}", False))
        self.lane = self.lanes[0]
        self.table = SqlTable(engine, flow.table, key_column=flow.key.app)
        self.twins = TwinFinder(flow, client, self.table) if flow.match else None
        self.result = FlowResult(flow.name)
        self._poll_started = datetime.now(UTC)
        self._waiting = Targets()

    @property
    def mapper(self) -> Mapper:
        return self.lane.mapper

    # -- the run -------------------------------------------------------------------------------------
    def run(self, targets: Targets | None = None) -> FlowResult:
        calls_before = self.client.api_calls
        try:
            if targets is None:
                self._waiting = self._waiting_on_references()
            app_changes, initial_load = self._read_app_changes(targets)
            self.result.records_read = len(app_changes)
            for lane in self.lanes:
                self.lane = lane
                self._run_lane(app_changes, targets)
            if initial_load:
                with Session(self.engine) as session, session.begin():
                    repo.set_watermark(session, self.flow.name, APP_INITIALIZED, "true")
        finally:
            self.result.api_calls = self.client.api_calls - calls_before
        return self.result

    def _run_lane(self, app_changes: dict[str, AppChange], targets: Targets | None) -> None:
        lane = self.lane
        with Session(self.engine) as session:
            watermark = None if targets else repo.get_watermark(session, self.flow.name, lane.watermark)
            if not lane.primary and not repo.has_links_to(session, self.flow.name, lane.object_name):
                return  # nothing was converted yet: no query
        sf_changes = self._pull_salesforce(watermark, targets)
        if lane.primary and self.flow.conversion:
            sf_changes = self._follow_conversions(sf_changes)
        lane_changes = self._lane_app_changes(app_changes)
        self.result.records_read += len(sf_changes)
        plan = self._plan(sf_changes, lane_changes)
        if not lane.primary:
            plan.to_app = [item for item in plan.to_app if item.app_key is not None]
        self._apply(plan, sf_changes, watermark, targets)
        if lane.primary and self.flow.conversion and self.flow.conversion.when and self.flow.direction.sends():
            self._convert_rows(lane_changes)

    def _waiting_on_references(self) -> Targets:
        """Records that failed for a lookup not linked yet (UNLINKED_REFERENCE): an ordinary run tries them
        again, since the record they name may have been synced since (typically by an earlier flow of the run)."""
        lanes_fields = [field for lane in self.lanes for field in lane.mapper.flow.fields]
        if not any(field.reference for field in lanes_fields):
            return Targets()
        with Session(self.engine) as session:
            errors = repo.open_errors(session, flow=self.flow.name, error_code=UNLINKED_REFERENCE)
        waiting = Targets()
        for error in errors:
            if error.direction == Direction.TO_SALESFORCE.value and error.app_key:
                waiting.app_keys.append(error.app_key)
            elif error.direction == Direction.FROM_SALESFORCE.value and error.sf_id:
                waiting.sf_ids.append(error.sf_id)
        return waiting

    def _lane_app_changes(self, app_changes: dict[str, AppChange]) -> dict[str, AppChange]:
        """The app changes of rows living on this lane's object (unlinked rows belong to the flow's own)."""
        if len(self.lanes) == 1:
            return app_changes
        with Session(self.engine) as session:
            links = repo.links_by_app_key(session, self.flow.name, list(app_changes))
        chosen = {}
        for key, change in app_changes.items():
            link = links.get(key)
            on_object = link.sf_object if link is not None and not link.deleted else self.lanes[0].object_name
            if on_object == self.lane.object_name:
                chosen[key] = change
        return chosen

    # -- gathering -----------------------------------------------------------------------------------
    def _pull_salesforce(self, watermark: str | None, targets: Targets | None) -> list[SalesforceChange]:
        self._poll_started = datetime.now(UTC)
        if not self.flow.direction.receives():
            return []  # a one-way flow to Salesforce never reads it: no-change polls cost nothing
        fields = self.mapper.salesforce_fields
        if self.flow.key.external_id and self.lane.primary:
            fields = [*fields, self.flow.key.external_id]
        if self.lane.primary and self.flow.conversion:
            fields = [*fields, *CONVERSION_FIELDS]
        if self.lane.object_name == "Opportunity":
            fields = [*fields, *lifecycle.OPPORTUNITY_FLAGS]
        if targets is not None:
            records: list[dict[str, Any]] = []
            for start in range(0, len(targets.sf_ids), COLLECTION_SIZE):
                chunk = targets.sf_ids[start:start + COLLECTION_SIZE]
                id_list = ", ".join(f"'{sf_id}'" for sf_id in chunk)
                soql = salesforce_poll_query(self.lane.object_name, fields, None, 0, f"Id IN ({id_list})")
                records.extend(self.client.query_all(soql, include_deleted=True))
            return collect_salesforce_changes(records)
        condition = flag_condition(self.flow.sync_flag, self.flow.filter.salesforce) if self.lane.primary else None
        soql = salesforce_poll_query(self.lane.object_name, fields, watermark, self.hub.settings.overlap_seconds,
                                     condition)
        records = []
        for page in self.client.query(soql, include_deleted=True, batch_size=self.hub.settings.page_size):
            records.extend(page)
            self.progress("read salesforce", len(page))
        if self.lane.primary:
            records.extend(self._waiting_records(fields, {record["Id"] for record in records}))
        return collect_salesforce_changes(records)

    def _waiting_records(self, fields: list[str], read: set[str]) -> list[dict[str, Any]]:
        """The records waiting on a lookup that this poll did not bring anyway (one query per 200)."""
        missing = [sf_id for sf_id in self._waiting.sf_ids if sf_id not in read]
        records: list[dict[str, Any]] = []
        for start in range(0, len(missing), COLLECTION_SIZE):
            id_list = ", ".join(f"'{sf_id}'" for sf_id in missing[start:start + COLLECTION_SIZE])
            soql = salesforce_poll_query(self.lane.object_name, fields, None, 0, f"Id IN ({id_list})")
            records.extend(self.client.query_all(soql, include_deleted=True))
        return records

    def _read_app_changes(self, targets: Targets | None) -> tuple[dict[str, AppChange], bool]:
        """Pending app changes; on a flow's first run every existing row counts as changed (at an unknown time)."""
        now = datetime.now(UTC)
        initial_load = False
        if targets is not None:
            changes = {key: AppChange(key, now) for key in targets.app_keys}
        else:
            with Session(self.engine) as session:
                entries = read_changes(session, self.flow.table, self.hub.settings.change_batch)
                initial_load = repo.get_watermark(session, self.flow.name, APP_INITIALIZED) is None
            changes = collapse_app_changes(entries)
            for change in changes.values():
                change.changed_at = _utc(change.changed_at)
            if initial_load and self.flow.direction.sends():
                for key in self.table.keys(self.flow.filter.app):
                    changes.setdefault(key, AppChange(key, UNKNOWN_CHANGE_TIME))
            for key in self._waiting.app_keys:
                changes.setdefault(key, AppChange(key, now))
        rows = self.table.read(list(changes), where=self.flow.filter.app)
        for key, change in changes.items():
            change.row = rows.get(key)
            if change.row is None:
                change.deleted = True
        self.progress("read app", len(changes))
        return changes, initial_load

    def _plan(self, sf_changes: list[SalesforceChange], app_changes: dict[str, AppChange]) -> FlowPlan:
        with Session(self.engine) as session:
            links_by_sf = repo.links_by_sf_id(session, self.flow.name, [c.sf_id for c in sf_changes])
            links_by_app = repo.links_by_app_key(session, self.flow.name, list(app_changes))
        by_sf = {sf_id: _link_state(link) for sf_id, link in links_by_sf.items()}
        by_app = {key: _link_state(link) for key, link in links_by_app.items()}
        self.lookups.prime(self.mapper.flow.fields, [c.row for c in app_changes.values() if c.row is not None],
                           [c.record for c in sf_changes])
        self._adopt_by_external_id(sf_changes, app_changes, by_sf, by_app)
        match_errors = self._adopt_by_match(sf_changes, by_sf, by_app)
        plan = plan_flow(self.flow, self.mapper, sf_changes, app_changes, by_sf, by_app, self._coerce)
        plan.errors.extend(match_errors)
        return plan

    def _adopt_by_external_id(self, sf_changes: list[SalesforceChange], app_changes: dict[str, AppChange],
                              by_sf: dict[str, LinkState], by_app: dict[str, LinkState]) -> None:
        """An unlinked Salesforce record whose external id names an app row is that row's twin.

        This is how a create whose link was lost in a crash is recognised instead of imported twice. A row
        deleted since (its delete still pending in the change log) is that record's twin too: the delete must
        reach it, or the record would come back into the app as new. The link is stored at once: this run moves
        the watermark past the record before it sends the update or delete the twin needs, so after another
        crash no poll would bring the record back to be recognised.
        """
        external = self.flow.key.external_id
        if not external or not self.lane.primary:
            return
        candidates = {str(c.record.get(external)): c for c in sf_changes
                      if c.sf_id not in by_sf and c.record.get(external) not in (None, "")}
        if not candidates:
            return
        existing = self.table.read(list(candidates))
        with Session(self.engine) as session, session.begin():
            linked = repo.links_by_app_key(session, self.flow.name, list(candidates))
            for key, change in candidates.items():
                deleted_since = key in app_changes and app_changes[key].deleted
                if (key in existing or deleted_since) and key not in by_app and key not in linked:
                    state = LinkState(key, change.sf_id)
                    by_sf[change.sf_id] = state
                    by_app[key] = state
                    repo.save_link(session, self.flow.name, key, change.sf_id, sf_object=self.flow.salesforce)

    def _adopt_by_match(self, sf_changes: list[SalesforceChange], by_sf: dict[str, LinkState],
                        by_app: dict[str, LinkState]) -> list[PlannedError]:
        """New Salesforce records that match an unlinked app row by the flow's match rule become its twin.

        Records the rule refuses (several candidates, ``on_many: skip``) are kept out of this run as errors.
        """
        if self.twins is None or not self.flow.direction.receives() or not self.lane.primary:
            return []
        new = {c.sf_id: c for c in sf_changes if c.sf_id not in by_sf and not c.deleted}
        if not new:
            return []
        decisions = self.twins.app_twins({sf_id: c.record for sf_id, c in new.items()}, set(by_app))
        errors = []
        for sf_id, decision in decisions.items():
            if decision.action == "link" and decision.sf_id and decision.sf_id not in by_app:
                by_sf[sf_id] = by_app[decision.sf_id] = LinkState(decision.sf_id, sf_id)
            elif decision.action == "error":
                by_sf[sf_id] = LinkState("", sf_id, deleted=True)  # the plan leaves it alone this run
                errors.append(PlannedError(Direction.FROM_SALESFORCE, None, sf_id, "MULTIPLE_MATCHES",
                                           decision.message, list(self.twins.match.fields.values()),
                                           jsonable(new[sf_id].record)))
        return errors

    def _coerce(self, values: dict[str, Any]) -> dict[str, Any]:
        return self.table.coerce(values)

    # -- applying ------------------------------------------------------------------------------------
    def _apply(self, plan: FlowPlan, sf_changes: list[SalesforceChange], watermark: str | None,
               targets: Targets | None) -> None:
        self.result.conflicts = len(plan.conflicts)
        with Session(self.engine) as session, session.begin():
            for conflict in plan.conflicts:
                repo.record_conflict(session, self.run_id, self.flow.name, conflict.app_key, conflict.sf_id,
                                     self.flow.conflict.value, conflict.winner.value, conflict.sf_values,
                                     conflict.app_values)
            for planned in plan.errors:
                self._record_planned_error(session, planned)
            ack_changes(session, plan.settled_log_ids)
            if plan.back_in_step and self._errors_pending(session):
                repo.resolve_sending_errors(session, self.flow.name, plan.back_in_step)
        self._apply_to_app(plan, sf_changes, watermark, targets)
        self._apply_to_salesforce(plan.to_salesforce)
        self._apply_app_deletions([d for d in plan.deletions if d.origin is Side.APP])

    def _apply_to_app(self, plan: FlowPlan, sf_changes: list[SalesforceChange], watermark: str | None,
                      targets: Targets | None) -> None:
        """Write Salesforce's changes into the app; the last chunk moves the watermark past all of them."""
        work: list[ToApp | Deletion] = [*plan.to_app, *(d for d in plan.deletions if d.origin is Side.SALESFORCE)]
        settled = self._poll_started - timedelta(seconds=self.hub.settings.overlap_seconds)
        new_watermark = None if targets else newest_stamp(sf_changes, watermark, settled)
        chunks = [work[i:i + APP_CHUNK] for i in range(0, len(work), APP_CHUNK)] or [[]]
        for index, chunk in enumerate(chunks):
            with Session(self.engine) as session, session.begin():
                hub_writes(session)
                errors_pending = self._errors_pending(session)
                for item in chunk:
                    if isinstance(item, Deletion):
                        self._delete_in_app(session, item)
                    else:
                        self._write_to_app(session, item, errors_pending)
                if index == len(chunks) - 1 and new_watermark and new_watermark != watermark:
                    repo.set_watermark(session, self.flow.name, self.lane.watermark, new_watermark)
            self.progress("write app", len(chunk))

    def _write_to_app(self, session: Session, item: ToApp, errors_pending: bool = True) -> None:
        key = item.app_key
        existing = self.table.read_one(session, key) if key else None
        if key is None or existing is None:
            row = dict(item.values)
            if self.flow.key.salesforce_id_column:
                row[self.flow.key.salesforce_id_column] = item.change.sf_id
            key = self.table.key_text(self.table.insert(session, row))
            merged = row
            repo.record_event(session, self.run_id, self.flow.name, "created", key, item.change.sf_id,
                              {"origin": "salesforce", "values": self._snapshot(row)})
        else:
            changes = dict(item.values)
            id_column = self.flow.key.salesforce_id_column
            if id_column and existing.get(id_column) != item.change.sf_id:
                changes[id_column] = item.change.sf_id
            self.table.update(session, key, changes)
            merged = {**existing, **changes}
            before, after = self._snapshot(existing), self._snapshot(merged)
            if any(canonical(before[column]) != canonical(after[column]) for column in after):
                repo.record_event(session, self.run_id, self.flow.name, "updated", key, item.change.sf_id,
                                  {"origin": "salesforce", "values": after, "old": before})
        for kind, details in lifecycle.from_salesforce(self.lane.object_name, self.mapper, item.change.record,
                                                      None if existing is None else self._snapshot(existing),
                                                      self._snapshot(merged)):
            repo.record_event(session, self.run_id, self.flow.name, kind, key, item.change.sf_id, details)
        repo.save_link(session, self.flow.name, key, item.change.sf_id, sf_object=self.lane.object_name,
                       sf_modstamp=item.change.modstamp, sf_hash=values_hash(item.values),
                       app_hash=values_hash(self._coerce(self.mapper.app_view(merged, Direction.TO_SALESFORCE))))
        ack_changes(session, item.log_ids)
        if errors_pending:
            repo.resolve_errors(session, self.flow.name, app_key=key, sf_id=item.change.sf_id)
        self.result.written_to_app += 1

    def _errors_pending(self, session: Session) -> bool:
        """Has the flow unresolved errors? Without any, a written record has none to resolve, and its lookup
        (a fifth of the time of a large load) is skipped."""
        return bool(repo.open_errors(session, flow=self.flow.name, limit=1))

    def _delete_in_app(self, session: Session, item: Deletion) -> None:
        if not item.twin_already_gone:
            self.table.delete(session, [item.app_key])
            self.result.deletes += 1
        self._tombstone(session, item.app_key, item.sf_id)
        repo.record_event(session, self.run_id, self.flow.name, "deleted", item.app_key, item.sf_id,
                          {"origin": "salesforce"})
        ack_changes(session, item.log_ids)

    def _apply_to_salesforce(self, writes: list[ToSalesforce]) -> None:
        creates = [w for w in writes if w.sf_id is None]
        updates = [w for w in writes if w.sf_id is not None]
        if creates and self.flow.route and self.lane.primary:
            creates = self._route_creates(creates)
        if creates and self.twins is not None:
            creates, matched = self._match_creates(creates)
            updates += matched
        creates = self._with_defaults(creates, self.flow.defaults)
        updates = self._with_defaults(updates, self._mapped_defaults())
        if self.lane.primary and self.flow.conversion and self.flow.conversion.when:
            self._leave_status_to_conversion(creates + updates)
        if self.flow.sync_flag:
            for write in creates + updates:
                write.values[self.flow.sync_flag] = True
        self._write_creates(creates, self.flow.key.external_id)
        for chunk in self._chunks(updates):
            payload = [{"Id": w.sf_id, **w.values} for w in chunk]
            results = self.client.update(self.lane.object_name, payload)
            self._commit_salesforce_writes(chunk, payload, results, "update")

    def _write_creates(self, creates: list[ToSalesforce], external: str | None) -> None:
        for chunk in self._chunks(creates):
            if external:
                payload = [{**w.values, external: w.change.app_key} for w in chunk]
                results = self.client.upsert(self.lane.object_name, external, payload)
            else:
                payload = [dict(w.values) for w in chunk]
                results = self.client.create(self.lane.object_name, payload)
            self._commit_salesforce_writes(chunk, payload, results, "upsert" if external else "create")

    def _record_planned_errors(self, errors: list[PlannedError]) -> None:
        if errors:
            with Session(self.engine) as session, session.begin():
                for planned in errors:
                    self._record_planned_error(session, planned)

    def _user_id(self, username_or_email: str) -> str | None:
        """A user's Id by username or email, asked once per run (shared with ``user: true`` fields)."""
        return self.lookups.user_id(username_or_email)

    def _chunks(self, items: list[Any]) -> Iterable[list[Any]]:
        """One call's worth at a time; above the bulk threshold everything goes in one Bulk API job."""
        if len(items) > self.hub.settings.bulk_threshold:
            yield items
            return
        for start in range(0, len(items), COLLECTION_SIZE):
            yield items[start:start + COLLECTION_SIZE]

    def _commit_salesforce_writes(self, chunk: list[ToSalesforce], payload: list[dict[str, Any]],
                                  results: list[WriteResult], operation: str) -> None:
        with Session(self.engine) as session, session.begin():
            hub_writes(session)
            errors_pending = self._errors_pending(session)
            before = self._last_values(session, [w.change.app_key for w in chunk])
            for write, sent, result in zip(chunk, payload, results, strict=True):
                key = write.change.app_key
                if not result.success:
                    error = result.errors[0] if result.errors else None
                    repo.record_error(session, self.run_id, self.flow.name, Direction.TO_SALESFORCE.value,
                                      operation, key, write.sf_id, error.error_code if error else "UNKNOWN",
                                      error.message if error else "no error returned",
                                      list(error.fields) if error else [], jsonable(sent))
                    errors_pending = True
                    self.result.failed += 1
                else:
                    sf_id = result.id or write.sf_id
                    row = write.change.row or {}
                    filled = self._defaults_back(row, sent) if write.sf_id is None else {}
                    if filled:
                        self.table.update(session, key, self._coerce(filled))
                        row = write.change.row = {**row, **filled}
                    if self.flow.key.salesforce_id_column and row.get(self.flow.key.salesforce_id_column) != sf_id:
                        self.table.update(session, key, {self.flow.key.salesforce_id_column: sf_id})
                    repo.save_link(session, self.flow.name, key, sf_id, sf_object=self.lane.object_name,
                                   sf_modstamp=None,
                                   app_hash=values_hash(self._coerce(
                                       self.mapper.app_view(row, Direction.TO_SALESFORCE))),
                                   sf_hash=self._predicted_echo_hash(sent))
                    if errors_pending:
                        repo.resolve_errors(session, self.flow.name, app_key=key, sf_id=sf_id)
                    created = operation != "update" and (result.created is None or result.created)
                    repo.record_event(session, self.run_id, self.flow.name, "created" if created else "updated",
                                      key, sf_id, {"origin": "app", "values": self._snapshot(row)})
                    previous = None if created else before.get(key, {})
                    for kind, details in lifecycle.from_app(self.lane.object_name, sent, self.mapper, previous,
                                                            self._snapshot(row)):
                        repo.record_event(session, self.run_id, self.flow.name, kind, key, sf_id, details)
                    self.result.written_to_salesforce += 1
                ack_changes(session, write.change.log_ids)
        self.progress("write salesforce", len(chunk))

    def _last_values(self, session: Session, keys: list[str]) -> dict[str, dict[str, Any]]:
        """The records' values when last synced, only when the flow tells events by them (an owner column or
        ``events``): one query a chunk otherwise spent on nothing."""
        if not self.flow.events and not any(f.salesforce.lower() == "ownerid" for f in self.mapper.flow.fields):
            return {}
        return repo.last_values(session, self.flow.name, keys)

    def _snapshot(self, row: dict[str, Any]) -> dict[str, Any]:
        """A record's mapped app values as kept in its events: event rules compare them with the previous
        event's (or with ``old``, known for writes into the app) to tell which fields changed."""
        return {column: row.get(column) for column in self.mapper.app_columns}

    def _predicted_echo_hash(self, sent: dict[str, Any]) -> str | None:
        """The hash the record we just wrote will have when it comes back in the next poll."""
        try:
            return values_hash(self._coerce(self.mapper.to_app(sent)))
        except MappingError:
            return None

    def _apply_app_deletions(self, deletions: list[Deletion]) -> None:
        for chunk in self._chunks(deletions):
            results = self.client.delete([d.sf_id for d in chunk])
            with Session(self.engine) as session, session.begin():
                for deletion, result in zip(chunk, results, strict=True):
                    codes = {e.error_code for e in result.errors}
                    if result.success or codes & {"ENTITY_IS_DELETED", "NOT_FOUND", "INVALID_CROSS_REFERENCE_KEY"}:
                        self._tombstone(session, deletion.app_key, deletion.sf_id)
                        repo.record_event(session, self.run_id, self.flow.name, "deleted", deletion.app_key,
                                          deletion.sf_id, {"origin": "app"})
                        self.result.deletes += 1
                    else:
                        error = result.errors[0]
                        repo.record_error(session, self.run_id, self.flow.name, Direction.TO_SALESFORCE.value,
                                          "delete", deletion.app_key, deletion.sf_id, error.error_code,
                                          error.message, list(error.fields), {"Id": deletion.sf_id})
                        self.result.failed += 1
                    ack_changes(session, deletion.log_ids)

    def _tombstone(self, session: Session, app_key: str, sf_id: str) -> None:
        """Close the link of a deleted pair, unless its key already names another record: the database may give
        a deleted row's key to a record imported in the same sync (SQLite re-uses the highest rowid), whose new
        link must stay live."""
        link = repo.get_link_by_app_key(session, self.flow.name, app_key)
        if link is not None and link.sf_id == sf_id:
            repo.tombstone_link(session, self.flow.name, app_key)

    def _record_planned_error(self, session: Session, planned: PlannedError) -> None:
        operation = "update" if (planned.sf_id and planned.app_key) else "create"
        repo.record_error(session, self.run_id, self.flow.name, planned.direction.value, operation,
                          planned.app_key, planned.sf_id, planned.error_code, planned.message, planned.fields,
                          jsonable(planned.payload))
        ack_changes(session, planned.log_ids)
        self.result.failed += 1


def _link_state(link: Any) -> LinkState:
    return LinkState(link.app_key, link.sf_id, link.app_hash, link.sf_hash, bool(link.deleted))
