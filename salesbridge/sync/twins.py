"""Finding a record's twin on the other side before creating one (match rules), in batches.

One SOQL query finds the Salesforce candidates of up to 100 new app rows, and one SQL query the app candidates
of many new Salesforce records, so matching costs a handful of calls per run, not one per record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import func, select

from salesbridge.connectors.sql import SqlTable
from salesbridge.salesforce import SalesforceClient
from salesbridge.sync.config import FlowConfig
from salesbridge.sync.rules import (
    MatchDecision,
    MatchKey,
    app_match_key,
    candidate_queries,
    decide_match,
    group_candidates,
    salesforce_match_key,
)


class TwinFinder:
    """Applies a flow's ``match`` rule in both directions."""

    def __init__(self, flow: FlowConfig, client: SalesforceClient, table: SqlTable) -> None:
        assert flow.match is not None
        self.flow = flow
        self.match = flow.match
        self.client = client
        self.table = table

    def described(self, key: MatchKey) -> str:
        pairs = ", ".join(f"{field} = '{value}'" for field, value in zip(self.match.fields, key, strict=True))
        return f"{self.flow.salesforce} {pairs}"

    def salesforce_twins(self, rows: Mapping[str, Mapping[str, Any]], taken: set[str]) -> dict[str, MatchDecision]:
        """For new app rows (by app key): link to an existing Salesforce record, create one, or refuse.

        ``taken`` are Salesforce Ids already linked in this flow; a candidate claimed by one row in this batch is
        not offered to the next.
        """
        keys = {app_key: app_match_key(self.match, row) for app_key, row in rows.items()}
        wanted = [key for key in keys.values() if key is not None]
        records: list[dict[str, Any]] = []
        for soql in candidate_queries(self.flow.salesforce, self.match, wanted, condition=self.flow.filter.salesforce):
            records.extend(self.client.query_all(soql))
        grouped = group_candidates(self.match, records, taken)
        decisions: dict[str, MatchDecision] = {}
        for app_key, key in keys.items():
            if key is None:
                decisions[app_key] = MatchDecision("create")
                continue
            decision = decide_match(grouped.get(key, []), self.match.on_many, self.described(key))
            if decision.action == "link":
                grouped[key] = [c for c in grouped.get(key, []) if c["Id"] != decision.sf_id]
            decisions[app_key] = decision
        return decisions

    def app_twins(self, records: Mapping[str, Mapping[str, Any]], taken: set[str]) -> dict[str, MatchDecision]:
        """For new Salesforce records (by Id): the app row to link to (``sf_id`` holds the app key here)."""
        keys = {sf_id: salesforce_match_key(self.match, record) for sf_id, record in records.items()}
        wanted = {key for key in keys.values() if key is not None}
        by_key = self._app_rows_by_key(wanted, taken)
        decisions: dict[str, MatchDecision] = {}
        for sf_id, key in keys.items():
            if key is None:
                decisions[sf_id] = MatchDecision("create")
                continue
            # Newest app row: the highest key (autoincrement keys grow with time).
            candidates = [{"Id": app_key, "LastModifiedDate": f"{len(app_key):04d}{app_key}"}
                          for app_key in by_key.get(key, [])]
            decision = decide_match(candidates, self.match.on_many, f"{self.flow.table} rows with {key}")
            if decision.action == "link":
                by_key[key] = [k for k in by_key.get(key, []) if k != decision.sf_id]
            decisions[sf_id] = decision
        return decisions

    def _app_rows_by_key(self, wanted: Iterable[MatchKey], taken: set[str]) -> dict[MatchKey, list[str]]:
        first_values = sorted({key[0] for key in wanted})
        if not first_values:
            return {}
        columns = list(self.match.fields.values())
        table = self.table.table
        grouped: dict[MatchKey, list[str]] = {}
        with self.table.engine.connect() as connection:
            for start in range(0, len(first_values), 500):
                chunk = first_values[start:start + 500]
                query = select(table.c[self.table.key_column], *(table.c[c] for c in columns)).where(
                    func.lower(table.c[columns[0]]).in_(chunk))
                for row in connection.execute(query):
                    app_key = self.table.key_text(row[0])
                    if app_key in taken:
                        continue
                    key = app_match_key(self.match, dict(zip(columns, row[1:], strict=True)))
                    if key is not None:
                        grouped.setdefault(key, []).append(app_key)
        return grouped
