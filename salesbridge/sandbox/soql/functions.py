"""SOQL functions: aggregates, date functions (CALENDAR_YEAR and friends) and value wrappers (toLabel ...).

Date functions read the UTC calendar date of a date or datetime value (the sandbox org's time zone is UTC);
fiscal ones equal calendar ones because the fiscal year starts in January by default.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from salesbridge.sandbox.soql.values import DATE, NUMBER

AGGREGATES = frozenset({"COUNT", "COUNT_DISTINCT", "SUM", "AVG", "MIN", "MAX"})

#: Functions that return their field's value unchanged in the sandbox (labels equal values, one currency).
PASS_THROUGH = frozenset({"TOLABEL", "CONVERTCURRENCY", "FORMAT"})


def _day(value: str) -> date:
    return date.fromisoformat(value[:10])


def _day_in_week(value: str) -> int:
    return _day(value).isoweekday() % 7 + 1  # 1 = Sunday ... 7 = Saturday


def _day_in_year(value: str) -> int:
    return _day(value).timetuple().tm_yday


_DATE_FUNCTIONS: dict[str, tuple[Callable[[str], Any], str]] = {
    "CALENDAR_YEAR": (lambda value: _day(value).year, NUMBER),
    "CALENDAR_QUARTER": (lambda value: (_day(value).month - 1) // 3 + 1, NUMBER),
    "CALENDAR_MONTH": (lambda value: _day(value).month, NUMBER),
    "DAY_IN_MONTH": (lambda value: _day(value).day, NUMBER),
    "DAY_IN_WEEK": (_day_in_week, NUMBER),
    "DAY_IN_YEAR": (_day_in_year, NUMBER),
    "WEEK_IN_MONTH": (lambda value: (_day(value).day - 1) // 7 + 1, NUMBER),
    "WEEK_IN_YEAR": (lambda value: (_day_in_year(value) - 1) // 7 + 1, NUMBER),
    "FISCAL_YEAR": (lambda value: _day(value).year, NUMBER),
    "FISCAL_QUARTER": (lambda value: (_day(value).month - 1) // 3 + 1, NUMBER),
    "FISCAL_MONTH": (lambda value: _day(value).month, NUMBER),
    "DAY_ONLY": (lambda value: value[:10], DATE),
    "HOUR_IN_DAY": (lambda value: int(value[11:13]), NUMBER),
}
#: Date functions that need a time part (datetime fields only).
DATETIME_ONLY = frozenset({"DAY_ONLY", "HOUR_IN_DAY"})


def is_date_function(name: str) -> bool:
    return name.upper() in _DATE_FUNCTIONS


def date_function(name: str, read: Callable[[Any], Any]) -> tuple[Callable[[Any], Any], str]:
    """A reader applying the date function ``name`` to what ``read`` returns, and the result's kind."""
    compute, kind = _DATE_FUNCTIONS[name.upper()]

    def apply(row: Any) -> Any:
        value = read(row)
        return compute(value) if value else None

    return apply, kind


def date_function_type(kind: str) -> str:
    """The describe type a date function's result compares as."""
    return "date" if kind == DATE else "int"
