"""Converting incoming values (Salesforce API text, JSON numbers, Python values) to an app column's type.

One place, so that every write path converts alike and every failure names the table, the column and the
value. Salesforce sends dates as ``YYYY-MM-DD``, datetimes as ``2013-05-08T21:20:00.000+0000``, numbers as
JSON numbers and checkboxes as booleans; app tables may declare anything SQLAlchemy reflects.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Enum,
    Float,
    Integer,
    Interval,
    LargeBinary,
    Numeric,
    String,
    Time,
    Uuid,
)

from salesbridge.salesforce.datetimes import parse_datetime

_TRUE = {"true", "t", "yes", "y", "1", "on"}
_FALSE = {"false", "f", "no", "n", "0", "off"}


class SqlConnectorError(Exception):
    """Base of the SQL connector's errors."""


class ValueConversionError(SqlConnectorError, ValueError):
    """A value that does not fit its column; names all three so the record error tells a person what to fix."""

    def __init__(self, table: str, column: str, value: Any, expected: str) -> None:
        self.table = table
        self.column = column
        self.value = value
        self.expected = expected
        super().__init__(f"table {table!r}, column {column!r}: cannot use {value!r} as {expected}")


class _Refused(Exception):
    """Raised by a converter; turned into ValueConversionError with the context the converter lacks."""


def convert_value(table: str, column: Column[Any], value: Any) -> Any:
    """``value`` as ``column`` stores it; None stays None (the database enforces NOT NULL)."""
    if value is None:
        return None
    converter, expected = _converter_for(column)
    try:
        return converter(column, value)
    except (_Refused, ValueError, TypeError, ArithmeticError):
        raise ValueConversionError(table, column.name, value, expected) from None


def _to_bool(_column: Column[Any], value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise _Refused


def _to_int(_column: Column[Any], value: Any) -> int:
    if isinstance(value, bool):
        raise _Refused
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        value = Decimal(value.strip())
    if isinstance(value, float | Decimal) and math.isfinite(value) and value == int(value):
        return int(value)
    raise _Refused


def _to_float(_column: Column[Any], value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise _Refused
    result = float(value.strip() if isinstance(value, str) else value)
    if not math.isfinite(result):
        raise _Refused
    return result


def _to_decimal(column: Column[Any], value: Any) -> Decimal | float:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise _Refused
    number = Decimal(value.strip()) if isinstance(value, str) else Decimal(str(value))
    if not number.is_finite():
        raise _Refused
    return number if column.type.asdecimal else float(number)  # type: ignore[attr-defined]


def _to_datetime(column: Column[Any], value: Any) -> datetime:
    if isinstance(value, str):
        text = value.strip()
        try:
            value = parse_datetime(text)
        except ValueError:
            value = datetime.fromisoformat(text)
    if not isinstance(value, datetime):
        raise _Refused
    if column.type.timezone:  # type: ignore[attr-defined]
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    # A column without a time zone holds UTC: aware values are converted, naive ones taken as they are.
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _to_date(_column: Column[Any], value: Any) -> date:
    if isinstance(value, datetime):
        raise _Refused
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value.strip())
    raise _Refused


def _to_time(_column: Column[Any], value: Any) -> time:
    if isinstance(value, time):
        return value
    if isinstance(value, str):
        text = value.strip().removesuffix("Z")
        return time.fromisoformat(text)
    raise _Refused


def _to_interval(_column: Column[Any], value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    raise _Refused


def _to_string(column: Column[Any], value: Any) -> str:
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, Decimal):
        text = format(value, "f")
    elif isinstance(value, int | float | uuid.UUID):
        text = str(value)
    elif isinstance(value, date | time):
        text = value.isoformat()
    else:
        raise _Refused
    length = getattr(column.type, "length", None)
    if length is not None and len(text) > length:
        raise _Refused
    return text


def _to_enum(column: Column[Any], value: Any) -> str:
    if isinstance(value, str) and value in column.type.enums:  # type: ignore[attr-defined]
        return value
    raise _Refused


def _to_bytes(_column: Column[Any], value: Any) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise _Refused


def _to_uuid(column: Column[Any], value: Any) -> uuid.UUID | str:
    parsed = value if isinstance(value, uuid.UUID) else uuid.UUID(str(value).strip())
    return parsed if column.type.as_uuid else str(parsed)  # type: ignore[attr-defined]


def _as_is(_column: Column[Any], value: Any) -> Any:
    return value


_Converter = Callable[[Column[Any], Any], Any]

#: Most specific types first: Enum is a String, Float a Numeric.
_CONVERTERS: tuple[tuple[type[Any], _Converter, str], ...] = (
    (Boolean, _to_bool, "a boolean (true/false)"),
    (Integer, _to_int, "an integer"),
    (Float, _to_float, "a number"),
    (Numeric, _to_decimal, "a decimal number"),
    (DateTime, _to_datetime, "a datetime (ISO 8601, e.g. 2024-05-08T21:20:00Z)"),
    (Date, _to_date, "a date (YYYY-MM-DD)"),
    (Time, _to_time, "a time (HH:MM:SS)"),
    (Interval, _to_interval, "a duration"),
    (Enum, _to_enum, "one of the column's enum values"),
    (Uuid, _to_uuid, "a UUID"),
    (String, _to_string, "text"),
    (LargeBinary, _to_bytes, "bytes"),
    (JSON, _as_is, "JSON"),
)


def _converter_for(column: Column[Any]) -> tuple[_Converter, str]:
    for sql_type, converter, expected in _CONVERTERS:
        if isinstance(column.type, sql_type):
            if sql_type is String and getattr(column.type, "length", None):
                expected = f"text of at most {column.type.length} characters"  # type: ignore[attr-defined]
            return converter, expected
    return _as_is, "a value"
