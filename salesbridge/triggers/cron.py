"""Five-field cron expressions (``minute hour day-of-month month day-of-week``), parsed and matched: pure.

The dialect is the classic one (Vixie cron), so that an admin's habits carry over:
- each field is ``*``, a number, a range ``a-b``, a step ``*/n`` or ``a-b/n``, or a comma list of those;
- months and weekdays also take English three-letter names (``JAN``, ``MON``), case-insensitive;
- weekdays run 0-7 with both 0 and 7 meaning Sunday;
- when both day-of-month and day-of-week are restricted, a day matches if *either* does (``0 8 1 * MON`` is
  "the 1st of the month and every Monday"), as cron has always done.

Time zones and daylight saving are the caller's concern (``schedules``): this module only answers "does this
wall-clock date/hour/minute match".
"""

from __future__ import annotations

from calendar import monthrange
from dataclasses import dataclass
from datetime import date

_MONTH_NAMES = {name: number for number, name in enumerate(
    ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), start=1)}
_DAY_NAMES = {name: number for number, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))}
#: (name, lowest, highest, names) of the five fields, in order.
_FIELDS = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, _MONTH_NAMES),
    ("day of week", 0, 7, _DAY_NAMES),
)
#: The most days any month has, February counted as in a leap year.
_LONGEST_MONTH = {month: monthrange(2000, month)[1] for month in range(1, 13)}


@dataclass(frozen=True)
class CronExpression:
    """A parsed expression: the allowed values of each field (weekdays 0 = Sunday ... 6 = Saturday)."""

    text: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    any_day: bool
    any_weekday: bool

    def matches_date(self, day: date) -> bool:
        """Does ``day`` (a local calendar date) have runs at all?"""
        if day.month not in self.months:
            return False
        by_day = day.day in self.days
        by_weekday = day.isoweekday() % 7 in self.weekdays
        if self.any_day or self.any_weekday:
            # One of them starts with '*': the other alone decides (as in cron, '*/2' counts as a '*').
            return by_day and by_weekday
        return by_day or by_weekday


def parse_cron(text: str) -> CronExpression:
    """Parse ``text``; raises ValueError naming the field and what is wrong."""
    parts = text.split()
    if len(parts) != 5:
        raise ValueError(f"a cron expression has 5 fields (minute hour day month weekday), got {len(parts)}: "
                         f"'{text}'")
    values = [_parse_field(part, *spec) for part, spec in zip(parts, _FIELDS, strict=True)]
    minutes, hours, days, months, weekdays = values
    weekdays = {0 if value == 7 else value for value in weekdays}
    expression = CronExpression(
        text=" ".join(parts), minutes=tuple(sorted(minutes)), hours=tuple(sorted(hours)), days=frozenset(days),
        months=frozenset(months), weekdays=frozenset(weekdays), any_day=parts[2].startswith("*"),
        any_weekday=parts[4].startswith("*"),
    )
    if expression.any_weekday and not expression.any_day and all(
            min(days) > _LONGEST_MONTH[month] for month in months):
        raise ValueError(f"'{text}' never runs: no chosen month has day {min(days)}")
    return expression


def _parse_field(part: str, name: str, low: int, high: int, names: dict[str, int]) -> set[int]:
    chosen: set[int] = set()
    for item in part.split(","):
        base, _, step_text = item.partition("/")
        step = _number(step_text, name, 1, high - low + 1, {}) if step_text else 1
        if base == "*":
            first, last = low, high
        elif "-" in base:
            first_text, _, last_text = base.partition("-")
            first = _number(first_text, name, low, high, names)
            last = _number(last_text, name, low, high, names)
            if first > last:
                raise ValueError(f"cron {name}: range '{base}' runs backwards")
        else:
            first = _number(base, name, low, high, names)
            last = high if step_text else first
        chosen.update(range(first, last + 1, step))
    return chosen


def _number(text: str, name: str, low: int, high: int, names: dict[str, int]) -> int:
    if text.upper() in names:
        return names[text.upper()]
    if not text.isdigit():
        raise ValueError(f"cron {name}: '{text}' is not a number{' or a name' if names else ''}")
    value = int(text)
    if not low <= value <= high:
        raise ValueError(f"cron {name}: {value} is outside {low}-{high}")
    return value
