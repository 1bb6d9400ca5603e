"""What the mail and contacts flows share: the hub's database and Salesforce client, and the run record.

Each sync is recorded as a run (``sb_runs`` with one ``sb_run_flows`` row) like table flows are, so that
``salesbridge status``, the API and the admin pages show mail and contacts runs beside the others.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from salesbridge.salesforce import SalesforceClient
from salesbridge.store import repository as repo
from salesbridge.store.db import migrate, open_store
from salesbridge.sync.config import HubConfig

#: Addresses and names per SOQL ``IN (...)`` list: far below SOQL's 100,000-character statement limit.
IN_CHUNK = 200


@dataclass
class Problem:
    """One item a run could not handle (a malformed message, a bad vCard, a refused write), as reported."""

    key: str
    error_code: str
    message: str
    where: str = ""

    def __str__(self) -> str:
        place = f" ({self.where})" if self.where else ""
        return f"{self.key}{place}: {self.error_code}: {self.message}"


@dataclass
class FlowReport:
    """What one mail or contacts run did; ``counts`` names what was counted (saved, created, updated...)."""

    flow: str
    run_id: int | None = None
    status: str = "running"
    counts: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    api_calls: int = 0
    error: str | None = None
    records_read: int = 0

    def add(self, name: str, amount: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + amount

    def count(self, name: str) -> int:
        return self.counts.get(name, 0)


@dataclass
class Runtime:
    """The hub's state database (migrated) and a Salesforce client for one config."""

    config: HubConfig
    engine: Engine
    client: SalesforceClient

    @classmethod
    def for_config(
        cls, config: HubConfig, client: SalesforceClient | None = None, engine: Engine | None = None
    ) -> Runtime:
        from salesbridge.sync.connect import salesforce_client

        engine = engine or open_store(config.store_url)
        migrate(engine)
        return cls(config, engine, client or salesforce_client(config))

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One committed transaction."""
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    def start(self, report: FlowReport, trigger: str) -> None:
        self.client.reset_counter()
        with self.session() as session:
            report.run_id = repo.start_run(session, trigger, [report.flow])

    def finish(self, report: FlowReport, *, written: int, read: int) -> None:
        """Close the run: ``failed`` on a stopping error, ``partial`` with per-item problems, else
        ``succeeded``."""
        report.api_calls = self.client.api_calls
        report.records_read = read
        if report.error:
            report.status = "failed"
        else:
            report.status = "partial" if report.problems else "succeeded"
        with self.session() as session:
            repo.add_run_flow(
                session,
                report.run_id,
                report.flow,
                records_read=read,
                records_written=written,
                records_failed=len(report.problems),
                api_calls=report.api_calls,
                details=dict(report.counts),
            )
            repo.finish_run(session, report.run_id, report.status, report.api_calls, report.error)


def chunks(values: Sequence[Any], size: int = IN_CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
