"""What happens to new records on their way to Salesforce before they are written: routing to another object by
a match (``route``), linking to an existing record by the match rule (``match``), and default values
(``defaults``, also filling mapped fields an update would clear, and written back into the row).

A mixin of :class:`~salesbridge.sync.engine.FlowSync`: its methods use the run's state and its write helpers.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from salesbridge.salesforce.datetimes import format_datetime
from salesbridge.store import repository as repo
from salesbridge.sync.config import DefaultValue, Direction, MatchConfig
from salesbridge.sync.mapping import MappingError, jsonable
from salesbridge.sync.plan import PlannedError, ToSalesforce
from salesbridge.sync.rules import app_match_key, apply_defaults, candidate_queries, group_candidates

if TYPE_CHECKING:
    pass


if TYPE_CHECKING:
    from salesbridge.sync.engine import FlowSync


class CreateRules:
    """The create-time rules of FlowSync (see the module docstring)."""

    def _route_creates(self: FlowSync, creates: list[ToSalesforce]) -> list[ToSalesforce]:
        """Create the rows whose route matches exactly one record on the route's object; answer the rest.

        One query finds the matches of up to 100 rows. A routed record gets the route's mapping, the fields
        ``set`` from the matched record and the route's defaults, and is linked on the route's lane.
        """
        route = self.flow.route
        assert route is not None
        rule = MatchConfig(fields=route.when_exactly_one.fields)
        keys = {w.change.app_key: app_match_key(rule, w.change.row or {}) for w in creates}
        records: list[dict[str, Any]] = []
        for soql in candidate_queries(route.when_exactly_one.object, rule, [k for k in keys.values() if k],
                                      extra_fields=route.set.values()):
            records.extend(self.client.query_all(soql))
        grouped = group_candidates(rule, records, taken=set())
        lane = next(lane for lane in self.lanes if lane.object_name == route.to)
        self.lookups.prime(lane.mapper.flow.fields, [w.change.row or {} for w in creates], [])
        stay, routed, failed = [], [], []
        for write in creates:
            key = keys[write.change.app_key]
            matches = grouped.get(key, []) if key else []
            if len(matches) != 1:
                stay.append(write)
                continue
            try:
                values = lane.mapper.to_salesforce(write.change.row or {})
            except MappingError as error:
                failed.append(PlannedError(Direction.TO_SALESFORCE, write.change.app_key, None, error.error_code,
                                           error.message, error.fields, jsonable(write.change.row or {}),
                                           write.change.log_ids))
                continue
            values.update({target: matches[0].get(source) for target, source in route.set.items()})
            if self.flow.sync_flag:  # routed records carry the flag as the flow's own creates do
                values[self.flow.sync_flag] = True
            routed.append(ToSalesforce(write.change, None, values))
        self._record_planned_errors(failed)
        if routed:
            with Session(self.engine) as session, session.begin():
                if repo.get_watermark(session, self.flow.name, lane.watermark) is None:
                    # The lane starts now (less the overlap), not with every record the object ever had.
                    repo.set_watermark(session, self.flow.name, lane.watermark, format_datetime(datetime.now(UTC)))
            primary, self.lane = self.lane, lane
            try:
                self._write_creates(self._with_defaults(routed, route.defaults), route.external_id)
            finally:
                self.lane = primary
        return stay

    def _match_creates(self: FlowSync, creates: list[ToSalesforce]) -> tuple[list[ToSalesforce], list[ToSalesforce]]:
        """Creates whose row matches an existing Salesforce record become updates of it (match rule)."""
        assert self.twins is not None
        with Session(self.engine) as session:
            taken = {link.sf_id for link in repo.iter_links(session, self.flow.name) if link.sf_id}
        decisions = self.twins.salesforce_twins({w.change.app_key: w.change.row or {} for w in creates}, taken)
        still_creates, matched, refused = [], [], []
        for write in creates:
            decision = decisions[write.change.app_key]
            if decision.action == "link":
                write.sf_id = decision.sf_id
                matched.append(write)
            elif decision.action == "create":
                still_creates.append(write)
            else:
                refused.append(PlannedError(Direction.TO_SALESFORCE, write.change.app_key, None, "MULTIPLE_MATCHES",
                                            decision.message, list(self.twins.match.fields),
                                            jsonable(write.values), write.change.log_ids))
        self._record_planned_errors(refused)
        return still_creates, matched

    def _with_defaults(self: FlowSync, creates: list[ToSalesforce],
                       defaults: dict[str, DefaultValue]) -> list[ToSalesforce]:
        """Writes with default values (owners...) filled; an unknown user fails its record alone."""
        if not defaults:
            return creates
        ready, failed = [], []
        for write in creates:
            try:
                write.values = apply_defaults(defaults, write.change.row or {}, write.values, self._user_id)
                ready.append(write)
            except MappingError as error:
                failed.append(PlannedError(Direction.TO_SALESFORCE, write.change.app_key, write.sf_id,
                                           error.error_code, error.message, error.fields, jsonable(write.values),
                                           write.change.log_ids))
        self._record_planned_errors(failed)
        return ready

    def _mapped_defaults(self: FlowSync) -> dict[str, DefaultValue]:
        """Defaults of fields the mapping sends: an update whose row leaves one empty gets the default rather than
        clearing the field (an owner is required; a row without one keeps the default sales manager)."""
        sent = {f.salesforce.lower() for f in self.mapper.outgoing}
        return {name: spec for name, spec in self.flow.defaults.items() if name.lower() in sent}

    def _defaults_back(self: FlowSync, row: dict[str, Any], sent: dict[str, Any]) -> dict[str, Any]:
        """The app values of mapped fields a create filled by default (the owner), to write into the row: the
        app then shows what Salesforce has, and the echo of the create is recognised as one."""
        defaulted = {name.lower() for name in self.flow.defaults}
        fields = [f for f in self.mapper.incoming
                  if f.salesforce.lower() in defaulted and row.get(f.app) in (None, "") and sent.get(f.salesforce)]
        if not fields:
            return {}
        try:
            back = self.mapper.to_app(sent)
        except MappingError:
            return {}
        return {f.app: back[f.app] for f in fields if back.get(f.app) not in (None, "")}
