"""Salesforce's wire format for dates and datetimes.

Salesforce answers datetimes as ``2013-05-08T21:20:00.000+0000`` (always UTC, milliseconds, no colon in the
offset) and accepts ISO 8601 with ``Z`` or ``+hh:mm`` on input. Keeping one formatter for both the sandbox and
the client means watermarks compare as strings and as datetimes alike.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

_DATETIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?(Z|[+-]\d{2}:?\d{2})?$"
)


def format_datetime(value: datetime) -> str:
    """Format an aware (or UTC-naive) datetime the way Salesforce answers it."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"


def parse_datetime(text: str) -> datetime:
    """Parse any datetime Salesforce sends or accepts; naive input is taken as UTC.

    Raises ValueError naming the text when it is not a datetime.
    """
    match = _DATETIME_RE.match(text.strip())
    if not match:
        raise ValueError(f"not a Salesforce datetime: {text!r}")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    micro = int((fraction or "0").ljust(6, "0"))
    parsed = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tzinfo=UTC)
    if offset and offset != "Z":
        sign = 1 if offset[0] == "+" else -1
        digits = offset[1:].replace(":", "")
        delta_minutes = sign * (int(digits[:2]) * 60 + int(digits[2:]))
        parsed = parsed - timedelta(minutes=delta_minutes)
    return parsed


def format_date(value: date) -> str:
    return value.isoformat()


def parse_date(text: str) -> date:
    """Parse ``YYYY-MM-DD``; raises ValueError naming the text otherwise."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"not a Salesforce date: {text!r}") from None


def now_utc() -> datetime:
    return datetime.now(UTC)
