"""Relative date literals as day ranges [start, end), per Salesforce's date literal definitions."""

from __future__ import annotations

from datetime import date

import pytest

from salesbridge.sandbox.soql.dates import date_range

WEDNESDAY = date(2026, 2, 18)
NEW_YEARS_DAY = date(2026, 1, 1)  # a Thursday: its week starts on Sunday 2025-12-28

CASES = [
    (WEDNESDAY, "YESTERDAY", None, date(2026, 2, 17), date(2026, 2, 18)),
    (WEDNESDAY, "TODAY", None, date(2026, 2, 18), date(2026, 2, 19)),
    (WEDNESDAY, "TOMORROW", None, date(2026, 2, 19), date(2026, 2, 20)),
    (WEDNESDAY, "THIS_WEEK", None, date(2026, 2, 15), date(2026, 2, 22)),
    (WEDNESDAY, "LAST_WEEK", None, date(2026, 2, 8), date(2026, 2, 15)),
    (WEDNESDAY, "NEXT_WEEK", None, date(2026, 2, 22), date(2026, 3, 1)),
    (WEDNESDAY, "THIS_MONTH", None, date(2026, 2, 1), date(2026, 3, 1)),
    (WEDNESDAY, "LAST_MONTH", None, date(2026, 1, 1), date(2026, 2, 1)),
    (WEDNESDAY, "NEXT_MONTH", None, date(2026, 3, 1), date(2026, 4, 1)),
    (WEDNESDAY, "LAST_90_DAYS", None, date(2025, 11, 20), date(2026, 2, 19)),
    (WEDNESDAY, "NEXT_90_DAYS", None, date(2026, 2, 19), date(2026, 5, 20)),
    (WEDNESDAY, "THIS_QUARTER", None, date(2026, 1, 1), date(2026, 4, 1)),
    (WEDNESDAY, "LAST_QUARTER", None, date(2025, 10, 1), date(2026, 1, 1)),
    (WEDNESDAY, "NEXT_QUARTER", None, date(2026, 4, 1), date(2026, 7, 1)),
    (WEDNESDAY, "THIS_YEAR", None, date(2026, 1, 1), date(2027, 1, 1)),
    (WEDNESDAY, "LAST_YEAR", None, date(2025, 1, 1), date(2026, 1, 1)),
    (WEDNESDAY, "NEXT_YEAR", None, date(2027, 1, 1), date(2028, 1, 1)),
    (WEDNESDAY, "THIS_FISCAL_YEAR", None, date(2026, 1, 1), date(2027, 1, 1)),
    (WEDNESDAY, "LAST_FISCAL_QUARTER", None, date(2025, 10, 1), date(2026, 1, 1)),
    (WEDNESDAY, "LAST_N_DAYS", 1, date(2026, 2, 17), date(2026, 2, 19)),
    (WEDNESDAY, "LAST_N_DAYS", 30, date(2026, 1, 19), date(2026, 2, 19)),
    (WEDNESDAY, "NEXT_N_DAYS", 1, date(2026, 2, 19), date(2026, 2, 20)),
    (WEDNESDAY, "NEXT_N_DAYS", 7, date(2026, 2, 19), date(2026, 2, 26)),
    (WEDNESDAY, "N_DAYS_AGO", 3, date(2026, 2, 15), date(2026, 2, 16)),
    (WEDNESDAY, "LAST_N_WEEKS", 2, date(2026, 2, 1), date(2026, 2, 15)),
    (WEDNESDAY, "NEXT_N_WEEKS", 1, date(2026, 2, 22), date(2026, 3, 1)),
    (WEDNESDAY, "N_WEEKS_AGO", 1, date(2026, 2, 8), date(2026, 2, 15)),
    (WEDNESDAY, "LAST_N_MONTHS", 2, date(2025, 12, 1), date(2026, 2, 1)),
    (WEDNESDAY, "NEXT_N_MONTHS", 12, date(2026, 3, 1), date(2027, 3, 1)),
    (WEDNESDAY, "N_MONTHS_AGO", 2, date(2025, 12, 1), date(2026, 1, 1)),
    (WEDNESDAY, "LAST_N_QUARTERS", 2, date(2025, 7, 1), date(2026, 1, 1)),
    (WEDNESDAY, "NEXT_N_QUARTERS", 1, date(2026, 4, 1), date(2026, 7, 1)),
    (WEDNESDAY, "N_QUARTERS_AGO", 4, date(2025, 1, 1), date(2025, 4, 1)),
    (WEDNESDAY, "LAST_N_YEARS", 2, date(2024, 1, 1), date(2026, 1, 1)),
    (WEDNESDAY, "NEXT_N_YEARS", 1, date(2027, 1, 1), date(2028, 1, 1)),
    (WEDNESDAY, "N_YEARS_AGO", 1, date(2025, 1, 1), date(2026, 1, 1)),
    (WEDNESDAY, "LAST_N_FISCAL_YEARS", 1, date(2025, 1, 1), date(2026, 1, 1)),
    (NEW_YEARS_DAY, "THIS_WEEK", None, date(2025, 12, 28), date(2026, 1, 4)),
    (NEW_YEARS_DAY, "LAST_MONTH", None, date(2025, 12, 1), date(2026, 1, 1)),
    (NEW_YEARS_DAY, "YESTERDAY", None, date(2025, 12, 31), date(2026, 1, 1)),
    (date(2024, 2, 29), "NEXT_N_DAYS", 1, date(2024, 3, 1), date(2024, 3, 2)),
    (date(2026, 2, 15), "THIS_WEEK", None, date(2026, 2, 15), date(2026, 2, 22)),  # Sunday starts its week
    (date(2026, 2, 21), "THIS_WEEK", None, date(2026, 2, 15), date(2026, 2, 22)),  # Saturday ends it
]


@pytest.mark.parametrize(("today", "name", "count", "start", "end"), CASES,
                         ids=[f"{today}-{name}-{count}" for today, name, count, _, _ in CASES])
def test_date_range(today: date, name: str, count: int | None, start: date, end: date) -> None:
    assert date_range(name, count, today) == (start, end)


def test_unknown_literal_is_refused() -> None:
    with pytest.raises(ValueError, match="LAST_FORTNIGHT"):
        date_range("LAST_FORTNIGHT", None, WEDNESDAY)
