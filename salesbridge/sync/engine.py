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
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from salesbridge.connectors.sql import SqlTable, ack_changes, hub_writes, read_changes
from salesbridge.salesforce import SalesforceClient, WriteResult
from salesbridge.store import repository as repo
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
from salesbridge.sync.mapping import Mapper, MappingError, canonical, jsonable, values_hash
from salesbridge.sync.plan import Deletion, FlowPlan, LinkState, PlannedError, ToApp, ToSalesforce, plan_flow

SF_WATERMARK = "sf_modstamp"
APP_INITIALIZED = "app_initialized"
APP_CHUNK = 500
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


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class FlowSync:
    """Runs one flow once against one org and one app database."""

    def __init__(self, hub: HubConfig, flow: FlowConfig, client: SalesforceClient, engine: Engine, run_id: int,
                 progress: Progress | None = None) -> None:
        self.hub = hub
        self.flow = flow
        self.client = client
        self.engine = engine
        self.run_id = run_id
        self.progress = progress or (lambda _stage, _count: None)
        self.mapper = Mapper(flow, hub.value_maps)
        self.table = SqlTable(engine, flow.table, key_column=flow.key.app)
        self.result = FlowResult(flow.name)

    # -- the run -------------------------------------------------------------------------------------
    def run(self, targets: Targets | None = None) -> FlowResult:
        calls_before = self.client.api_calls
        try:
            with Session(self.engine) as session:
                watermark = None if targets else repo.get_watermark(session, self.flow.name, SF_WATERMARK)
            sf_changes = self._pull_salesforce(watermark, targets)
            app_changes, initial_load = self._read_app_changes(targets)
            self.result.records_read = len(sf_changes) + len(app_changes)
            plan = self._plan(sf_changes, app_changes)
            self._apply(plan, sf_changes, watermark, targets)
            if initial_load:
                with Session(self.engine) as session, session.begin():
                    repo.set_watermark(session, self.flow.name, APP_INITIALIZED, "true")
        finally:
            self.result.api_calls = self.client.api_calls - calls_before
        return self.result

    # -- gathering -----------------------------------------------------------------------------------
    def _pull_salesforce(self, watermark: str | None, targets: Targets | None) -> list[SalesforceChange]:
        if not self.flow.direction.receives():
            return []  # a one-way flow to Salesforce never reads it: no-change polls cost nothing
        fields = self.mapper.salesforce_fields
        if self.flow.key.external_id:
            fields = [*fields, self.flow.key.external_id]
        if targets is not None:
            records: list[dict[str, Any]] = []
            for start in range(0, len(targets.sf_ids), COLLECTION_SIZE):
                chunk = targets.sf_ids[start:start + COLLECTION_SIZE]
                id_list = ", ".join(f"'{sf_id}'" for sf_id in chunk)
                soql = salesforce_poll_query(self.flow.salesforce, fields, None, 0, f"Id IN ({id_list})")
                records.extend(self.client.query_all(soql, include_deleted=True))
            return collect_salesforce_changes(records)
        soql = salesforce_poll_query(self.flow.salesforce, fields, watermark, self.hub.settings.overlap_seconds,
                                     self.flow.filter.salesforce)
        records = []
        for page in self.client.query(soql, include_deleted=True, batch_size=self.hub.settings.page_size):
            records.extend(page)
            self.progress("read salesforce", len(page))
        return collect_salesforce_changes(records)

    def _read_app_changes(self, targets: Targets | None) -> tuple[dict[str, AppChange], bool]:
        """Pending app changes; on a flow's first run every existing row counts as changed."""
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
        self._adopt_by_external_id(sf_changes, app_changes, by_sf, by_app)
        return plan_flow(self.flow, self.mapper, sf_changes, app_changes, by_sf, by_app, self._coerce)

    def _adopt_by_external_id(self, sf_changes: list[SalesforceChange], app_changes: dict[str, AppChange],
                              by_sf: dict[str, LinkState], by_app: dict[str, LinkState]) -> None:
        """An unlinked Salesforce record whose external id names an app row is that row's twin.

        This is how a create whose link was lost in a crash is recognised instead of imported twice. A row
        deleted since (its delete still pending in the change log) is that record's twin too: the delete must
        reach it, or the record would come back into the app as new.
        """
        external = self.flow.key.external_id
        if not external:
            return
        candidates = {str(c.record.get(external)): c for c in sf_changes
                      if c.sf_id not in by_sf and c.record.get(external) not in (None, "")}
        if not candidates:
            return
        existing = self.table.read(list(candidates))
        for key, change in candidates.items():
            deleted_since = key in app_changes and app_changes[key].deleted
            if (key in existing or deleted_since) and key not in by_app:
                state = LinkState(key, change.sf_id)
                by_sf[change.sf_id] = state
                by_app[key] = state

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
        self._apply_to_app(plan, sf_changes, watermark, targets)
        self._apply_to_salesforce(plan.to_salesforce)
        self._apply_app_deletions([d for d in plan.deletions if d.origin is Side.APP])

    def _apply_to_app(self, plan: FlowPlan, sf_changes: list[SalesforceChange], watermark: str | None,
                      targets: Targets | None) -> None:
        """Write Salesforce's changes into the app; the last chunk moves the watermark past all of them."""
        work: list[ToApp | Deletion] = [*plan.to_app, *(d for d in plan.deletions if d.origin is Side.SALESFORCE)]
        new_watermark = None if targets else newest_stamp(sf_changes, watermark)
        chunks = [work[i:i + APP_CHUNK] for i in range(0, len(work), APP_CHUNK)] or [[]]
        for index, chunk in enumerate(chunks):
            with Session(self.engine) as session, session.begin():
                hub_writes(session)
                for item in chunk:
                    if isinstance(item, Deletion):
                        self._delete_in_app(session, item)
                    else:
                        self._write_to_app(session, item)
                if index == len(chunks) - 1 and new_watermark and new_watermark != watermark:
                    repo.set_watermark(session, self.flow.name, SF_WATERMARK, new_watermark)
            self.progress("write app", len(chunk))

    def _write_to_app(self, session: Session, item: ToApp) -> None:
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
            self.table.update(session, key, item.values)
            merged = {**existing, **item.values}
            before, after = self._snapshot(existing), self._snapshot(merged)
            if any(canonical(before[column]) != canonical(after[column]) for column in after):
                repo.record_event(session, self.run_id, self.flow.name, "updated", key, item.change.sf_id,
                                  {"origin": "salesforce", "values": after, "old": before})
        repo.save_link(session, self.flow.name, key, item.change.sf_id, sf_object=self.flow.salesforce,
                       sf_modstamp=item.change.modstamp, sf_hash=values_hash(item.values),
                       app_hash=values_hash(self._coerce(self.mapper.app_view(merged, Direction.TO_SALESFORCE))))
        ack_changes(session, item.log_ids)
        repo.resolve_errors(session, self.flow.name, app_key=key, sf_id=item.change.sf_id)
        self.result.written_to_app += 1

    def _delete_in_app(self, session: Session, item: Deletion) -> None:
        if not item.twin_already_gone:
            self.table.delete(session, [item.app_key])
            self.result.deletes += 1
        repo.tombstone_link(session, self.flow.name, item.app_key)
        repo.record_event(session, self.run_id, self.flow.name, "deleted", item.app_key, item.sf_id,
                          {"origin": "salesforce"})
        ack_changes(session, item.log_ids)

    def _apply_to_salesforce(self, writes: list[ToSalesforce]) -> None:
        creates = [w for w in writes if w.sf_id is None]
        updates = [w for w in writes if w.sf_id is not None]
        external = self.flow.key.external_id
        for chunk in self._chunks(creates):
            if external:
                payload = [{**w.values, external: w.change.app_key} for w in chunk]
                results = self.client.upsert(self.flow.salesforce, external, payload)
            else:
                payload = [dict(w.values) for w in chunk]
                results = self.client.create(self.flow.salesforce, payload)
            self._commit_salesforce_writes(chunk, payload, results, "upsert" if external else "create")
        for chunk in self._chunks(updates):
            payload = [{"Id": w.sf_id, **w.values} for w in chunk]
            results = self.client.update(self.flow.salesforce, payload)
            self._commit_salesforce_writes(chunk, payload, results, "update")

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
            for write, sent, result in zip(chunk, payload, results, strict=True):
                key = write.change.app_key
                if not result.success:
                    error = result.errors[0] if result.errors else None
                    repo.record_error(session, self.run_id, self.flow.name, Direction.TO_SALESFORCE.value,
                                      operation, key, write.sf_id, error.error_code if error else "UNKNOWN",
                                      error.message if error else "no error returned",
                                      list(error.fields) if error else [], jsonable(sent))
                    self.result.failed += 1
                else:
                    sf_id = result.id or write.sf_id
                    row = write.change.row or {}
                    if self.flow.key.salesforce_id_column and row.get(self.flow.key.salesforce_id_column) != sf_id:
                        self.table.update(session, key, {self.flow.key.salesforce_id_column: sf_id})
                    repo.save_link(session, self.flow.name, key, sf_id, sf_object=self.flow.salesforce,
                                   sf_modstamp=None,
                                   app_hash=values_hash(self._coerce(
                                       self.mapper.app_view(row, Direction.TO_SALESFORCE))),
                                   sf_hash=self._predicted_echo_hash(sent))
                    repo.resolve_errors(session, self.flow.name, app_key=key, sf_id=sf_id)
                    created = operation != "update" and (result.created is None or result.created)
                    repo.record_event(session, self.run_id, self.flow.name, "created" if created else "updated",
                                      key, sf_id, {"origin": "app", "values": self._snapshot(row)})
                    self.result.written_to_salesforce += 1
                ack_changes(session, write.change.log_ids)
        self.progress("write salesforce", len(chunk))

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
                        repo.tombstone_link(session, self.flow.name, deletion.app_key)
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

    def _record_planned_error(self, session: Session, planned: PlannedError) -> None:
        operation = "update" if (planned.sf_id and planned.app_key) else "create"
        repo.record_error(session, self.run_id, self.flow.name, planned.direction.value, operation,
                          planned.app_key, planned.sf_id, planned.error_code, planned.message, planned.fields,
                          jsonable(planned.payload))
        ack_changes(session, planned.log_ids)
        self.result.failed += 1


def _link_state(link: Any) -> LinkState:
    return LinkState(link.app_key, link.sf_id, link.app_hash, link.sf_hash, bool(link.deleted))
