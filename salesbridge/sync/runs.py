"""Runs: one or more flows synced once, logged with counts, API calls, conflicts and per-record errors.

``Hub`` is the entry point the CLI, the API and the scheduler share. It holds no state between runs beyond what
is in the database, so a run can be started from any process (the "growing past one machine" rule).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from salesbridge.connectors.sql import install_change_log
from salesbridge.salesforce import BudgetExhausted, SalesforceClient, SalesforceError
from salesbridge.store import repository as repo
from salesbridge.store.db import migrate, open_store
from salesbridge.sync.config import HubConfig
from salesbridge.sync.connect import salesforce_client
from salesbridge.sync.engine import FlowResult, FlowSync, Progress, Targets
from salesbridge.sync.lookups import UserDirectory
from salesbridge.triggers.chains import follow_chains

log = logging.getLogger(__name__)

#: Called with the id of a run as soon as it is recorded.
OnStart = Callable[[int], None]


@dataclass
class RunReport:
    run_id: int
    status: str
    results: list[FlowResult] = field(default_factory=list)
    api_calls: int = 0
    errors: dict[str, str] = field(default_factory=dict)
    #: Runs the flows of this one chained to (trigger "chain"), each with its own chained runs.
    chained: list[RunReport] = field(default_factory=list)

    @property
    def written(self) -> int:
        return sum(r.records_written for r in self.results)

    @property
    def failed(self) -> int:
        return sum(r.failed for r in self.results)


class Hub:
    """One configured hub: the app database (with the hub's state) and one Salesforce org."""

    def __init__(self, config: HubConfig, client: SalesforceClient | None = None, engine: Engine | None = None):
        self.config = config
        self.engine = engine or open_store(config.store_url)
        migrate(self.engine)
        for flow in config.flows:
            install_change_log(self.engine, flow.table, flow.key.app)
        with Session(self.engine) as session, session.begin():
            for run_id in repo.sweep_interrupted_runs(session):
                log.warning("run %s was interrupted: its process stopped before it finished", run_id)
        self.client = client or salesforce_client(config)
        #: Users found by earlier runs (owner lookups), so that quiet polls do not ask for them again.
        self.users = UserDirectory()

    def prune_events(self, keep_days: int | None = None) -> int:
        """Delete lifecycle events older than ``keep_days`` (default: settings.keep_events_days; 0 keeps all)."""
        days = self.config.settings.keep_events_days if keep_days is None else keep_days
        if days <= 0:
            return 0
        with Session(self.engine) as session, session.begin():
            return repo.prune_events(session, datetime.now(UTC) - timedelta(days=days))

    def sync(self, flows: list[str] | None = None, *, trigger: str = "manual",
             progress: Callable[[str], Progress] | None = None, on_start: OnStart | None = None,
             parent_run_id: int | None = None, cause: Mapping[str, Any] | None = None) -> RunReport:
        """Sync the named flows (default: every enabled flow) once.

        ``on_start`` is called with the run id as soon as the run is recorded (the web answers with it while the
        run goes on in the background).
        """
        chosen = [self.config.flow(name) for name in flows] if flows else [f for f in self.config.flows if f.enabled]
        return self._run([(flow.name, None) for flow in chosen], trigger, progress, on_start,
                         parent_run_id=parent_run_id, cause=cause)

    def sync_record(self, flow: str, *, app_key: str | None = None, sf_id: str | None = None,
                    on_start: OnStart | None = None) -> RunReport:
        """"Sync this record now": one app row or one Salesforce record, outside the watermarks."""
        targets = Targets(app_keys=[app_key] if app_key else [], sf_ids=[sf_id] if sf_id else [])
        return self._run([(self.config.flow(flow).name, targets)], "manual", None, on_start)

    def sync_records(self, flow: str, targets: Targets, *, trigger: str = "manual",
                     parent_run_id: int | None = None, cause: Mapping[str, Any] | None = None) -> RunReport:
        """Sync some records of one flow now, outside the watermarks (event rules and chains use it)."""
        return self._run([(self.config.flow(flow).name, targets)], trigger, None,
                         parent_run_id=parent_run_id, cause=cause)

    def retry(self, error_ids: list[int] | None = None, flow: str | None = None, *,
              on_start: OnStart | None = None) -> RunReport:
        """Retry open RecordErrors (all, or the given ids): the records are read again and re-sent.

        A retried error that succeeds is marked resolved; one that fails again stays open with one more attempt.
        """
        with Session(self.engine) as session, session.begin():
            errors = repo.open_errors(session, flow=flow, ids=error_ids)
            by_flow: dict[str, Targets] = {}
            table_flows = {configured.name for configured in self.config.flows}
            for error in errors:
                if error.flow not in table_flows:  # mail/contacts errors: their own next run retries them
                    continue
                targets = by_flow.setdefault(error.flow, Targets())
                if error.direction == "to_salesforce" and error.app_key:
                    targets.app_keys.append(error.app_key)
                elif error.sf_id:
                    targets.sf_ids.append(error.sf_id)
                repo.mark_retrying(session, error)
        return self._run([(name, targets) for name, targets in by_flow.items()], "retry", None, on_start)

    def _run(self, work: list[tuple[str, Targets | None]], trigger: str,
             progress: Callable[[str], Progress] | None, on_start: OnStart | None = None, *,
             parent_run_id: int | None = None, cause: Mapping[str, Any] | None = None) -> RunReport:
        self.client.reset_counter()
        with Session(self.engine) as session, session.begin():
            run_id = repo.start_run(session, trigger, [name for name, _ in work], parent_run_id=parent_run_id,
                                    cause=cause)
        if on_start is not None:
            on_start(run_id)
        report = RunReport(run_id, "running")
        for name, targets in work:
            flow = self.config.flow(name)
            runner = FlowSync(self.config, flow, self.client, self.engine, run_id,
                              progress(name) if progress else None, self.users)
            try:
                result = runner.run(targets)
            except BudgetExhausted as error:
                report.errors[name] = str(error)
                report.status = "stopped"
                result = runner.result
            except (SalesforceError, Exception) as error:  # a flow's failure must not stop the others
                log.exception("flow %s failed", name)
                report.errors[name] = f"{type(error).__name__}: {error}"
                result = runner.result
            report.results.append(result)
            with Session(self.engine) as session, session.begin():
                repo.add_run_flow(session, run_id, result.flow, records_read=result.records_read,
                                  records_written=result.records_written, records_failed=result.failed,
                                  conflicts=result.conflicts, api_calls=result.api_calls, deletes=result.deletes)
            if report.status == "stopped":
                break
        report.api_calls = self.client.api_calls
        if report.status != "stopped":
            report.status = "failed" if report.errors else ("partial" if report.failed else "succeeded")
        with Session(self.engine) as session, session.begin():
            repo.finish_run(session, run_id, report.status, report.api_calls,
                            "; ".join(f"{k}: {v}" for k, v in report.errors.items()) or None)
        if report.status != "stopped":  # a run stopped by the API budget starts no more work
            report.chained = follow_chains(self, report, cause)
        return report
