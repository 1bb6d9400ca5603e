"""Building SOQL safely: literals for values that come from data (never paste raw strings into a query)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

from salesbridge.salesforce.datetimes import format_datetime

_ESCAPES = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f",
            '"': '\\"'}


def quote(value: object) -> str:
    """A SOQL literal: strings quoted and escaped, datetimes in UTC to the second, dates ISO, booleans and null
    bare."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, datetime):
        # SOQL documents whole seconds only (YYYY-MM-DDThh:mm:ssZ): milliseconds are dropped, so a lower bound
        # moves earlier (harmless when de-duplicating) and an exact match on a stamp with milliseconds fails.
        return format_datetime(value)[:19] + "Z"
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return "'" + "".join(_ESCAPES.get(char, char) for char in text) + "'"


def quote_list(values: Iterable[object]) -> str:
    """``('a', 'b')`` for an ``IN`` condition."""
    return "(" + ", ".join(quote(value) for value in values) + ")"
