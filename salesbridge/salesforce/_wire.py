"""Python values -> what Salesforce accepts on the wire, in one place (JSON for REST, text cells for Bulk CSV).

- datetime -> ``2013-05-08T21:20:00.000+0000`` in JSON (what Salesforce answers), ``2013-05-08T21:20:00.000Z``
  in CSV (what Bulk API 2.0 documents); UTC, naive means UTC.
- date -> ``YYYY-MM-DD``; time -> ``hh:mm:ss.sssZ``.
- Decimal -> a JSON number (int when integral, else float: exact up to 15 significant digits, which covers
  Salesforce's number fields in practice) and its exact decimal text in CSV.
- bytes -> base64 text (ContentVersion.VersionData and other base64 fields).
- Enum -> its value. A mapping is a parent named by its external id (``{"Account": {"Ext__c": "A-1"}}``); in
  CSV it becomes the column ``Account.Ext__c``.
- None -> JSON null; in CSV ``#N/A`` (Bulk API's "set to null"; an empty cell would mean "leave unchanged" on
  update).
Anything else is refused with a TypeError naming the field, rather than sent as its ``str()``.
"""

from __future__ import annotations

import base64
import enum
import math
from collections.abc import Mapping
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from salesbridge.salesforce.datetimes import format_datetime

#: Bulk API 2.0's cell value that sets a field to null.
CSV_NULL = "#N/A"

JsonScalar = str | int | float | bool | None
JsonValue = JsonScalar | dict[str, Any]


def _format_time(value: time) -> str:
    return value.strftime("%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def json_value(value: Any, name: str = "value") -> JsonValue:
    """A JSON-ready value for one field."""
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise TypeError(f"{name}: {value} is not a number Salesforce accepts")
        return value
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return _format_time(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise TypeError(f"{name}: {value} is not a number Salesforce accepts")
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, enum.Enum):
        return json_value(value.value, name)
    if isinstance(value, Mapping):  # a parent by external id: {"Account": {"Hub_Id__c": "A-1"}}
        return json_record(value)
    if isinstance(value, list | tuple):  # multi-select picklists arrive as lists from some callers
        return ";".join(str(json_value(item, name)) for item in value)
    raise TypeError(f"{name}: cannot send a {type(value).__name__} to Salesforce")


def json_record(record: Mapping[str, Any], object_name: str | None = None) -> dict[str, Any]:
    """A record body for REST/collections: values serialised, ``attributes`` replaced by our own type."""
    body: dict[str, Any] = {"attributes": {"type": object_name}} if object_name else {}
    for key, value in record.items():
        if key == "attributes":
            continue
        body[key] = json_value(value, key)
    return body


def csv_cell(value: Any, name: str = "value") -> str:
    """The text of one Bulk API CSV cell."""
    if value is None:
        return CSV_NULL
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise TypeError(f"{name}: {value} is not a number Salesforce accepts")
        return format(value, "f")
    if isinstance(value, datetime):
        return format_datetime(value).replace("+0000", "Z")  # the form Bulk API 2.0 documents for CSV
    if isinstance(value, float):
        json_value(value, name)  # refuses NaN and infinities
        return format(Decimal(repr(value)), "f")  # never exponent notation, which Salesforce does not read
    converted = json_value(value, name)
    return "" if converted is None else str(converted)
