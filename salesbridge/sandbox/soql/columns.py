"""Flat columns for tabular answers (Bulk API 2.0 query CSV): ``Account.Name`` read out of nested records.

REST answers nest parent fields (``{"Account": {"Name": ...}}``); Bulk API query results are CSV with one column
per selected field named by its dotted path. ``flat_row`` walks the nested record for each column.
"""

from __future__ import annotations

from typing import Any


def flat_value(record: dict[str, Any], column: str) -> Any:
    """The value of a dotted column in a (nested) result record; None when any lookup on the way is empty."""
    current: Any = record
    for part in column.split("."):
        if not isinstance(current, dict):
            return None
        current = current.get(part)
    return current


def flat_row(record: dict[str, Any], columns: list[str]) -> list[Any]:
    """The values of ``columns`` in one result record, in column order."""
    return [flat_value(record, column) for column in columns]
