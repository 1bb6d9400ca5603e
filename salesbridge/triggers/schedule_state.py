"""The ``sb_schedules`` table: each scheduled flow's next and last run, kept so that they survive restarts
(the mail and contacts flows too, as rows named ``mail`` and ``contacts``).

The stored next run time is the truth while the flow's schedule text (``spec``) is unchanged: a restart
finds it as it was, and a time that passed while the hub was down is due at once (one run, however many were
missed). A new or changed schedule gets its next run computed from now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesbridge.store.models import Schedule as ScheduleRow
from salesbridge.triggers.config import ScheduleConfig
from salesbridge.triggers.schedules import Schedule, compile_schedule, next_run_after

if TYPE_CHECKING:
    from salesbridge.sync.config import HubConfig


@dataclass
class ScheduledFlow:
    """One flow's schedule with its run times (``stored``: read from the table, not just computed)."""

    flow: str
    schedule: Schedule
    spec: str
    next_run_at: datetime | None
    last_run_at: datetime | None = None
    last_run_id: int | None = None
    stored: bool = False

    def due(self, now: datetime) -> bool:
        return self.next_run_at is not None and self.next_run_at <= now


#: Sections of the config that are flows of their own (IMAP, CardDAV); a schedule under one is kept by its name.
SOURCE_SECTIONS = ("mail", "contacts")


def scheduled_flows(config: HubConfig) -> dict[str, ScheduleConfig]:
    """The enabled flows that have a schedule, by name; the ``mail`` and ``contacts`` sections count as flows
    named after them."""
    found = {flow.name: flow.schedule for flow in config.flows if flow.enabled and flow.schedule is not None}
    for name in SOURCE_SECTIONS:
        section = getattr(config, name)
        if section is not None and section.enabled and section.schedule is not None:
            found[name] = section.schedule
    return found


def sync_schedules(session: Session, config: HubConfig, now: datetime) -> list[ScheduledFlow]:
    """Bring the table in line with the configuration (call it when the scheduler starts).

    Rows of flows no longer scheduled are removed; new and changed schedules get their next run after ``now``;
    unchanged ones keep their stored times.
    """
    wanted = scheduled_flows(config)
    rows = {row.flow: row for row in session.scalars(select(ScheduleRow))}
    for name, row in rows.items():
        if name not in wanted:
            session.delete(row)
    states = []
    for name, schedule_config in wanted.items():
        schedule, spec = compile_schedule(schedule_config), schedule_config.spec()
        row = rows.get(name)
        if row is None:
            row = ScheduleRow(flow=name, spec=spec)
            session.add(row)
        if row.spec != spec or row.next_run_at is None:
            row.spec = spec
            row.next_run_at = next_run_after(schedule, now)
        states.append(ScheduledFlow(name, schedule, spec, row.next_run_at, row.last_run_at, row.last_run_id, True))
    session.flush()
    return states


def read_schedules(session: Session, config: HubConfig, now: datetime) -> list[ScheduledFlow]:
    """What ``sync_schedules`` would keep, without writing: stored times where the schedule is unchanged,
    otherwise the next run computed from ``now`` (``stored`` False)."""
    rows = {row.flow: row for row in session.scalars(select(ScheduleRow))}
    states = []
    for name, schedule_config in scheduled_flows(config).items():
        schedule, spec = compile_schedule(schedule_config), schedule_config.spec()
        row = rows.get(name)
        if row is not None and row.spec == spec and row.next_run_at is not None:
            states.append(ScheduledFlow(name, schedule, spec, row.next_run_at, row.last_run_at, row.last_run_id,
                                        True))
        else:
            states.append(ScheduledFlow(name, schedule, spec, next_run_after(schedule, now),
                                        row.last_run_at if row else None, row.last_run_id if row else None))
    return states


def record_scheduled_run(session: Session, flow: str, ran_at: datetime, run_id: int | None,
                         next_run_at: datetime) -> None:
    """A scheduled run of ``flow`` finished: remember it and when the next one is due."""
    row = session.get(ScheduleRow, flow)
    if row is None:
        return  # unscheduled while it ran
    row.last_run_at = ran_at
    row.last_run_id = run_id
    row.next_run_at = next_run_at
    session.flush()
