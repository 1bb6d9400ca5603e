"""Lead conversion in a flow's run: conversions made in Salesforce followed (the link moves to the record the
Lead became), conversions made by the hub (``conversion.when``: a row entering e.g. stage Won converts its
Lead, per batch), and the app's values sent to the converted record (``conversion.initial: app``).

A mixin of :class:`~salesbridge.sync.engine.FlowSync`: its methods use the run's state (flow, lanes, client,
database) and its write helpers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from salesbridge.connectors.sql import hub_writes
from salesbridge.salesforce.datetimes import format_datetime
from salesbridge.store import repository as repo
from salesbridge.sync import lifecycle
from salesbridge.sync.changes import AppChange, SalesforceChange
from salesbridge.sync.config import Direction
from salesbridge.sync.mapping import MappingError, canonical, jsonable, values_hash
from salesbridge.sync.plan import PlannedError, ToSalesforce

if TYPE_CHECKING:
    pass


if TYPE_CHECKING:
    from salesbridge.sync.engine import FlowSync


class ConversionSteps:
    """The conversion steps of FlowSync (see the module docstring)."""

    def _follow_conversions(self: FlowSync, sf_changes: list[SalesforceChange]) -> list[SalesforceChange]:
        """Move the links of converted leads to the record they became, and record the conversion.

        A converted lead is read-only and no longer the record's home: it is dropped from the plan, also when it
        comes back in a later poll (so it is never imported as a new row).
        """
        converted = [c for c in sf_changes if c.record.get("IsConverted") and not c.deleted]
        if not converted:
            return sf_changes
        to = self.flow.conversion.to  # type: ignore[union-attr]
        when = self.flow.conversion.when  # type: ignore[union-attr]
        moved: list[tuple[str, str]] = []
        with Session(self.engine) as session, session.begin():
            if when:
                hub_writes(session)
            links = repo.links_by_sf_id(session, self.flow.name, [c.sf_id for c in converted])
            for change in converted:
                link = links.get(change.sf_id)
                if link is None or link.deleted:
                    continue
                record = change.record
                details = {"lead_id": change.sf_id, "account_id": record.get("ConvertedAccountId"),
                           "contact_id": record.get("ConvertedContactId"),
                           "opportunity_id": record.get("ConvertedOpportunityId")}
                target = record.get(f"Converted{to}Id")
                if target:
                    repo.save_link(session, self.flow.name, link.app_key, target, sf_object=to)
                    moved.append((link.app_key, target))
                    details["moved_to"] = target
                    target_watermark = next(lane.watermark for lane in self.lanes if lane.object_name == to)
                    if repo.get_watermark(session, self.flow.name, target_watermark) is None:
                        repo.set_watermark(session, self.flow.name, target_watermark, change.modstamp)
                repo.record_event(session, self.run_id, self.flow.name, "converted", link.app_key, change.sf_id,
                                  {**details, "origin": "salesforce"})
                if when:
                    self._mark_converted(session, link.app_key, change.sf_id, when)
        if moved and self.flow.conversion.initial == "app":  # type: ignore[union-attr]
            self._send_to_converted(to, moved)
        return [c for c in sf_changes if not c.record.get("IsConverted")]

    def _mark_converted(self: FlowSync, session: Session, app_key: str, sf_id: str, when: dict[str, str]) -> None:
        """A Lead converted in Salesforce: its row takes the conversion's ``when`` values (stage Won), as the
        hub's own write (the Lead is read-only now: nothing to send back), with the events they mean."""
        row = self.table.read_one(session, app_key)
        if row is None:
            return
        changes = {column: value for column, value in when.items() if canonical(row.get(column)) != canonical(value)}
        if changes:
            self.table.update(session, app_key, self.table.coerce(changes))
        for kind, details in lifecycle.value_events(self.flow.events, self._snapshot(row),
                                                    self._snapshot({**row, **changes}), "salesforce"):
            repo.record_event(session, self.run_id, self.flow.name, kind, app_key, sf_id, details)

    def _convert_rows(self: FlowSync, app_changes: dict[str, AppChange]) -> None:
        """Convert the Leads of changed rows that hold the conversion's ``when`` values (stage Won...).

        Rows are read again (a conflict may have changed them); only rows still linked to a Lead convert, so a
        converted one never converts twice. One ``convertLead`` call converts up to 100 Leads. The link then
        moves to the record the Lead became, as for a Lead converted in Salesforce. A refused conversion is a
        record error of that row alone (operation ``convert``), retried like others.
        """
        conversion = self.flow.conversion
        assert conversion is not None
        keys = [key for key, change in app_changes.items() if not change.deleted]
        rows = self.table.read(keys) if keys else {}
        wanted = [key for key, row in rows.items() if lifecycle.holds(row, conversion.when)]
        if not wanted:
            return
        with Session(self.engine) as session:
            links = repo.links_by_app_key(session, self.flow.name, wanted)
        leads = {key: links[key].sf_id for key in wanted if key in links and not links[key].deleted
                 and links[key].sf_id and links[key].sf_object == self.flow.salesforce}
        if not leads:
            return
        answers = self.client.convert_leads([{"lead_id": sf_id, "converted_status": conversion.status,
                                              "do_not_create_opportunity": not conversion.opportunity}
                                             for sf_id in leads.values()])
        target_lane = next(lane for lane in self.lanes if lane.object_name == conversion.to)
        id_key = f"{conversion.to[0].lower()}{conversion.to[1:]}Id"
        with Session(self.engine) as session, session.begin():
            for (key, lead_id), answer in zip(leads.items(), answers, strict=True):
                error = answer["error"]
                if error is not None:
                    repo.record_error(session, self.run_id, self.flow.name, Direction.TO_SALESFORCE.value, "convert",
                                      key, lead_id, error.error_code, error.message, list(error.fields),
                                      {"leadId": lead_id, "convertedStatus": conversion.status})
                    self.result.failed += 1
                    continue
                target = answer.get(id_key)
                if target:
                    repo.save_link(session, self.flow.name, key, target, sf_object=conversion.to,
                                   app_hash=values_hash(self._coerce(
                                       target_lane.mapper.app_view(rows[key], Direction.TO_SALESFORCE))))
                    if repo.get_watermark(session, self.flow.name, target_lane.watermark) is None:
                        repo.set_watermark(session, self.flow.name, target_lane.watermark,
                                           format_datetime(datetime.now(UTC)))
                repo.record_event(session, self.run_id, self.flow.name, "converted", key, lead_id,
                                  {"origin": "app", "lead_id": lead_id, "account_id": answer.get("accountId"),
                                   "contact_id": answer.get("contactId"),
                                   "opportunity_id": answer.get("opportunityId"), "moved_to": target})
                repo.resolve_errors(session, self.flow.name, app_key=key, sf_id=lead_id)
                self.result.written_to_salesforce += 1

    def _send_to_converted(self: FlowSync, to: str, moved: list[tuple[str, str]]) -> None:
        """Send the app rows' values to the records their leads became (``conversion.initial: app``).

        The converted record's link then carries the hash of what was sent, so its next poll is the echo of this
        write rather than an edit: a deal Approved in the hub stays Approved although the new Opportunity
        started at the org's first stage.
        """
        lane = next(lane for lane in self.lanes if lane.object_name == to)
        rows = self.table.read([key for key, _ in moved])
        writes, failed = [], []
        for key, target in moved:
            if key not in rows:
                continue
            change = AppChange(key, datetime.now(UTC), row=rows[key])
            try:
                writes.append(ToSalesforce(change, target, lane.mapper.to_salesforce(rows[key])))
            except MappingError as error:
                failed.append(PlannedError(Direction.TO_SALESFORCE, key, target, error.error_code, error.message,
                                           error.fields, jsonable(rows[key])))
        self._record_planned_errors(failed)
        primary, self.lane = self.lane, lane
        try:
            for chunk in self._chunks(writes):
                payload = [{"Id": w.sf_id, **w.values} for w in chunk]
                if self.flow.sync_flag:
                    for values in payload:
                        values[self.flow.sync_flag] = True
                self._commit_salesforce_writes(chunk, payload, self.client.update(to, payload), "update")
        finally:
            self.lane = primary

    def _leave_status_to_conversion(self: FlowSync, writes: list[ToSalesforce]) -> None:
        """Rows about to convert (stage Won) do not send the field of the ``when`` column: the conversion sets
        the converted status itself, and a Lead should not look converted before it is."""
        conversion = self.flow.conversion
        assert conversion is not None
        fields = [f.salesforce for f in self.mapper.outgoing if f.app in conversion.when]
        for write in writes:
            if lifecycle.holds(write.change.row or {}, conversion.when):
                for sf_field in fields:
                    write.values.pop(sf_field, None)
