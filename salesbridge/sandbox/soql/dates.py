"""Relative date literals (TODAY, LAST_N_DAYS:30, THIS_QUARTER, ...) as half-open day ranges.

Each literal stands for a range of whole days ``[start, end)`` in the org's time zone (UTC for the sandbox);
``=`` tests membership, ``<`` means before the start, ``>`` after the end. Definitions follow Salesforce's
"Date Formats and Date Literals" page:

- LAST_N_DAYS:n and LAST_90_DAYS include today (n + 1 days in all); NEXT_N_DAYS:n and NEXT_90_DAYS start
  tomorrow and do not include today.
- LAST_N_WEEKS/MONTHS/QUARTERS/YEARS:n cover the n whole periods before the current one; NEXT_N_...:n the n
  whole periods after it; N_..._AGO:n the single period n periods back.
- Weeks start on Sunday (the en_US locale); the fiscal year starts in January (Salesforce's default), so fiscal
  periods equal calendar ones.
"""

from __future__ import annotations

from datetime import date, timedelta

#: Salesforce's default fiscal year starts in January; fiscal literals then equal calendar ones.
FISCAL_YEAR_START_MONTH = 1


def _week_start(day: date) -> date:
    """The Sunday on or before ``day``."""
    return day - timedelta(days=(day.weekday() + 1) % 7)


def _add_months(day: date, months: int) -> date:
    """The first day of the month ``months`` after ``day``'s month (``day`` must be a first of month)."""
    index = day.year * 12 + (day.month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


def _month_start(day: date) -> date:
    return date(day.year, day.month, 1)


def _quarter_start(day: date, first_month: int = 1) -> date:
    offset = (day.month - first_month) % 3
    return _add_months(_month_start(day), -offset)


def _year_start(day: date, first_month: int = 1) -> date:
    year = day.year if day.month >= first_month else day.year - 1
    return date(year, first_month, 1)


def _shift(start: date, unit: str, count: int) -> date:
    if unit == "DAY":
        return start + timedelta(days=count)
    if unit == "WEEK":
        return start + timedelta(days=7 * count)
    months = {"MONTH": 1, "QUARTER": 3, "YEAR": 12}[unit] * count
    return _add_months(start, months)


def _current_period_start(today: date, unit: str) -> date:
    if unit == "DAY":
        return today
    if unit == "WEEK":
        return _week_start(today)
    if unit == "MONTH":
        return _month_start(today)
    if unit == "QUARTER":
        return _quarter_start(today, FISCAL_YEAR_START_MONTH)
    return _year_start(today, FISCAL_YEAR_START_MONTH)


_UNIT_OF = {"DAY": "DAY", "DAYS": "DAY", "WEEK": "WEEK", "WEEKS": "WEEK", "MONTH": "MONTH", "MONTHS": "MONTH",
            "QUARTER": "QUARTER", "QUARTERS": "QUARTER", "YEAR": "YEAR", "YEARS": "YEAR",
            "FISCAL_QUARTER": "QUARTER", "FISCAL_QUARTERS": "QUARTER", "FISCAL_YEAR": "YEAR",
            "FISCAL_YEARS": "YEAR"}


def date_range(name: str, count: int | None, today: date) -> tuple[date, date]:
    """The half-open range ``[start, end)`` of days that the literal ``name`` (with ``:count``) stands for.

    Raises ValueError for an unknown literal (the parser only lets known shapes through).
    """
    try:
        return _date_range(name.upper(), count, today)
    except KeyError:
        raise ValueError(f"unknown date literal: {name}") from None


def _date_range(name: str, count: int | None, today: date) -> tuple[date, date]:
    fixed = {"YESTERDAY": (today - timedelta(days=1), today), "TODAY": (today, today + timedelta(days=1)),
             "TOMORROW": (today + timedelta(days=1), today + timedelta(days=2)),
             "LAST_90_DAYS": (today - timedelta(days=90), today + timedelta(days=1)),
             "NEXT_90_DAYS": (today + timedelta(days=1), today + timedelta(days=91))}
    if name in fixed:
        return fixed[name]
    if count is None:
        relation, _, unit_name = name.partition("_")
        unit = _UNIT_OF[unit_name]
        current = _current_period_start(today, unit)
        offset = {"LAST": -1, "THIS": 0, "NEXT": 1}[relation]
        start = _shift(current, unit, offset)
        return start, _shift(start, unit, 1)
    if count < 0:
        raise ValueError(f"negative count in date literal {name}:{count}")
    if name.startswith("N_") and name.endswith("_AGO"):
        unit = _UNIT_OF[name[2:-4]]
        start = _shift(_current_period_start(today, unit), unit, -count)
        return start, _shift(start, unit, 1)
    relation, _, unit_name = name.partition("_N_")
    unit = _UNIT_OF[unit_name]
    if unit == "DAY":
        if relation == "LAST":
            return today - timedelta(days=count), today + timedelta(days=1)
        return today + timedelta(days=1), today + timedelta(days=1 + count)
    current = _current_period_start(today, unit)
    if relation == "LAST":
        return _shift(current, unit, -count), current
    following = _shift(current, unit, 1)
    return following, _shift(following, unit, count)
