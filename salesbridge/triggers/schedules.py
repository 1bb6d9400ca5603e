"""When does a schedule run next: pure functions of (schedule, moment), in the schedule's named time zone.

Daylight saving is where schedulers drift, so the rules are explicit:
- ``every`` in minutes or hours counts elapsed time from ``starting``: an hourly run stays 60 minutes after the
  previous one when the clocks change (its local hour label shifts by one).
- ``every`` in days or weeks, and ``cron``, are wall-clock times: a daily 08:00 Europe/Berlin run is at 08:00
  local in winter (07:00 UTC) and in summer (06:00 UTC).
- A wall-clock time that does not exist (the hour skipped in spring) runs that many minutes later (02:30 ->
  03:30); a time that exists twice (the hour repeated in autumn) runs once, at its first occurrence.

Every answer is an aware UTC datetime, strictly after the moment asked about, so that a stored next run time
and a recomputation after a restart agree to the microsecond.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from salesbridge.triggers.config import ScheduleConfig
from salesbridge.triggers.cron import CronExpression, parse_cron

#: Where intervals count from when no ``starting`` is given: a Monday at midnight.
DEFAULT_ANCHOR = datetime(2000, 1, 3)
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
#: How far ahead a cron search looks: enough for 29 February to come round even across 2100.
_CRON_HORIZON_DAYS = 366 * 8 + 2


@dataclass(frozen=True)
class Schedule:
    """A compiled schedule: exactly one of ``elapsed`` (m/h), ``calendar`` (d/w) or ``cron`` is set."""

    zone: ZoneInfo
    start: datetime  # naive wall-clock time in ``zone``
    has_start: bool
    elapsed: timedelta | None = None
    calendar: timedelta | None = None
    cron: CronExpression | None = None
    text: str = ""


def compile_schedule(config: ScheduleConfig) -> Schedule:
    zone = ZoneInfo(config.timezone)
    start = config.starting or DEFAULT_ANCHOR
    has_start = config.starting is not None
    if config.cron is not None:
        return Schedule(zone, start, has_start, cron=parse_cron(config.cron), text=describe(config))
    assert config.every is not None
    count, unit = int(config.every[:-1]), config.every[-1]
    step = count * _UNITS[unit]
    if unit in "mh":
        return Schedule(zone, start, has_start, elapsed=step, text=describe(config))
    return Schedule(zone, start, has_start, calendar=step, text=describe(config))


def describe(config: ScheduleConfig) -> str:
    """For people: ``every 1d from 2026-12-01 08:00 (Europe/Berlin)``."""
    what = f"every {config.every}" if config.every else f"cron '{config.cron}'"
    since = f" from {config.starting.strftime('%Y-%m-%d %H:%M')}" if config.starting else ""
    return f"{what}{since} ({config.timezone})"


def wall_clock_to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """A naive wall-clock time in ``zone`` as an aware UTC instant.

    ``fold=0`` does both DST rules at once: a skipped time is read with the offset from before the change
    (so 02:30 lands at 03:30 new time), a repeated time as its first occurrence.
    """
    return local.replace(tzinfo=zone, fold=0).astimezone(UTC)


def next_run_after(schedule: Schedule, moment: datetime) -> datetime:
    """The first run strictly after ``moment`` (aware), as an aware UTC datetime."""
    if moment.tzinfo is None:
        raise ValueError("moment must be timezone-aware")
    moment = moment.astimezone(UTC)
    if schedule.elapsed is not None:
        return _next_elapsed(schedule, schedule.elapsed, moment)
    if schedule.calendar is not None:
        return _next_calendar(schedule, schedule.calendar, moment)
    assert schedule.cron is not None
    return _next_cron(schedule, schedule.cron, moment)


def upcoming(schedule: Schedule, moment: datetime, count: int) -> list[datetime]:
    """The next ``count`` runs after ``moment``."""
    runs: list[datetime] = []
    for _ in range(count):
        moment = next_run_after(schedule, moment)
        runs.append(moment)
    return runs


def _next_elapsed(schedule: Schedule, step: timedelta, moment: datetime) -> datetime:
    first = wall_clock_to_utc(schedule.start, schedule.zone)
    if moment < first:
        return first
    periods = (moment - first) // step + 1
    return first + periods * step


def _next_calendar(schedule: Schedule, step: timedelta, moment: datetime) -> datetime:
    local_now = moment.astimezone(schedule.zone).replace(tzinfo=None)
    # Start one period early: the UTC offset can put the answer on either side of the naive estimate.
    period = max(0, (local_now - schedule.start) // step - 1)
    while True:
        candidate = wall_clock_to_utc(schedule.start + period * step, schedule.zone)
        if candidate > moment:
            return candidate
        period += 1


def _next_cron(schedule: Schedule, cron: CronExpression, moment: datetime) -> datetime:
    earliest = moment
    if schedule.has_start:
        first = wall_clock_to_utc(schedule.start, schedule.zone)
        earliest = max(moment, first - timedelta(microseconds=1))
    day = earliest.astimezone(schedule.zone).date() - timedelta(days=1)
    found: datetime | None = None
    for _ in range(_CRON_HORIZON_DAYS):
        best = _first_on(cron, day, schedule.zone, earliest)
        if best is not None and (found is None or best < found):
            found = best
        elif found is not None:
            # Runs on one day can land after the next day's first run only through a skipped hour at
            # midnight; looking one day past the first hit covers it.
            return found
        day += timedelta(days=1)
    if found is not None:
        return found
    raise ValueError(f"cron '{cron.text}' has no run within {_CRON_HORIZON_DAYS} days")


def _first_on(cron: CronExpression, day: date, zone: ZoneInfo, after: datetime) -> datetime | None:
    """The earliest run on local date ``day`` strictly after ``after``, if any."""
    if not cron.matches_date(day):
        return None
    best: datetime | None = None
    for hour in cron.hours:
        for minute in cron.minutes:
            instant = wall_clock_to_utc(datetime(day.year, day.month, day.day, hour, minute), zone)
            if instant > after and (best is None or instant < best):
                best = instant
    return best
