"""CSV as Bulk API 2.0 speaks it: job dialects, uploaded data, typed cells and result files.

Uploaded cells are text; the record write path wants API-form values (booleans, numbers, ISO dates), so each
cell is converted by the type of the field it fills. Conversion errors carry Salesforce's wording ("Failed to
deserialize field at col N. Due to, 'x' is not a valid value for the type xsd:int") so that the failed-results
file reads like a real org's.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from salesbridge.salesforce.datetimes import format_datetime, parse_date, parse_datetime
from salesbridge.sandbox.errors import SandboxApiError
from salesbridge.sandbox.schema import FieldDef

COLUMN_DELIMITERS: dict[str, str] = {
    "COMMA": ",", "TAB": "\t", "PIPE": "|", "SEMICOLON": ";", "CARET": "^", "BACKQUOTE": "`",
}
LINE_ENDINGS: dict[str, str] = {"LF": "\n", "CRLF": "\r\n"}
#: The cell value that sets a field to null (an empty cell means "no value" on insert, "unchanged" on update).
NULL_MARKER = "#N/A"

_XSD_TYPES = {"boolean": "xsd:boolean", "int": "xsd:int", "double": "xsd:double", "currency": "xsd:double",
              "percent": "xsd:double", "date": "xsd:date", "datetime": "xsd:dateTime", "time": "xsd:time"}
_INT_RE = re.compile(r"^[+-]?\d+$")
_DATE_WITH_ZONE_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:Z|[+-]\d{2}:?\d{2})?$")
_TIME_RE = re.compile(r"^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?Z?$")
_API_DATETIME_RE = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3})\+0000$")


class CsvDataError(ValueError):
    """Uploaded data that cannot be read as the job's CSV; the job fails with this message."""


@dataclass
class CsvTable:
    """An uploaded CSV file: the header as sent and the data rows as text cells."""

    header: list[str]
    rows: list[list[str]]


def read_table(text: str, column_delimiter: str, line_ending: str) -> CsvTable:
    """Split uploaded data into header and rows, refusing line endings the job did not declare.

    Salesforce fails the whole job when the data's line endings differ from the job's ``lineEnding``.
    """
    text = text.removeprefix("\ufeff")
    first_break = text.find("\n")
    if first_break >= 0:
        found = "CRLF" if first_break > 0 and text[first_break - 1] == "\r" else "LF"
        if found != line_ending:
            raise CsvDataError(
                f"ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is {line_ending}"
            )
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=COLUMN_DELIMITERS[column_delimiter], strict=True)
    try:
        lines = [line for line in reader if line]
    except csv.Error as error:
        raise CsvDataError(f"ClientInputError : {error}") from None
    if not lines:
        raise CsvDataError("ClientInputError : no data rows were uploaded")
    header = [name.strip() for name in lines[0]]
    for number, row in enumerate(lines[1:], start=2):
        if len(row) != len(header):
            raise CsvDataError(
                f"ClientInputError : row {number} has {len(row)} columns, the header has {len(header)}"
            )
    return CsvTable(header, lines[1:])


def cell_to_value(field_def: FieldDef, text: str, column: int) -> Any:
    """An API-form value for one CSV cell (``#N/A`` gives None); ``column`` is 1-based, for the message."""
    if text == NULL_MARKER:
        return None
    kind = field_def.type
    try:
        if kind == "boolean":
            return _to_boolean(text)
        if kind == "int":
            if not _INT_RE.match(text.strip()):
                raise ValueError(text)
            return int(text)
        if kind in ("double", "currency", "percent"):
            number = float(text)
            if math.isnan(number) or math.isinf(number):
                raise ValueError(text)
            return number
        if kind == "date":
            return _to_date(text)
        if kind == "datetime":
            return format_datetime(parse_datetime(text))
        if kind == "time":
            return _to_time(text)
    except ValueError:
        raise SandboxApiError(
            "INVALID_FIELD",
            f"Failed to deserialize field at col {column}. Due to, '{text}' is not a valid value for the type "
            f"{_XSD_TYPES[kind]}",
        ) from None
    return text


def _to_boolean(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise ValueError(text)


def _to_date(text: str) -> str:
    match = _DATE_WITH_ZONE_RE.match(text.strip())
    if not match:
        raise ValueError(text)
    return parse_date(match.group(1)).isoformat()


def _to_time(text: str) -> str:
    match = _TIME_RE.match(text.strip())
    if not match:
        raise ValueError(text)
    hour, minute, second, millis = match.groups()
    if int(hour) > 23 or int(minute) > 59 or int(second or 0) > 59:
        raise ValueError(text)
    return f"{hour}:{minute}:{second or '00'}.{(millis or '0').ljust(3, '0')}Z"


def format_error(error: SandboxApiError) -> str:
    """An ``sf__Error`` cell: ``CODE:message:field field --`` (``CODE:message:--`` without fields)."""
    fields = "".join(f"{name} " for name in error.fields)
    return f"{error.error_code}:{error.message}:{fields}--"


def result_file(result_columns: list[str], original_header: list[str], rows: Iterable[list[str]]) -> str:
    """An ingest results file: quoted ``sf__`` columns, then the uploaded header as sent, values all quoted.

    Results always use commas and LF, whatever the job's dialect: clients read them as plain CSV.
    """
    buffer = io.StringIO()
    head = [f'"{name}"' for name in result_columns] + [_quote_if_needed(name) for name in original_header]
    buffer.write(",".join(head) + "\n")
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerows(rows)
    return buffer.getvalue()


def unprocessed_file(original_header: list[str], rows: Iterable[list[str]]) -> str:
    """The rows a job never reached, under the header as uploaded."""
    buffer = io.StringIO()
    buffer.write(",".join(_quote_if_needed(name) for name in original_header) + "\n")
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerows(rows)
    return buffer.getvalue()


def _quote_if_needed(name: str) -> str:
    if any(char in name for char in ',"\n\r'):
        return '"' + name.replace('"', '""') + '"'
    return name


def query_lines(rows: Iterable[list[Any]], datetime_columns: set[int], column_delimiter: str) -> list[str]:
    """Query result lines (no line endings): every value quoted, nulls empty, datetimes in UTC with ``Z``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=COLUMN_DELIMITERS[column_delimiter], quoting=csv.QUOTE_ALL,
                        lineterminator="\n")
    lines: list[str] = []
    for row in rows:
        writer.writerow([query_cell(value, index in datetime_columns) for index, value in enumerate(row)])
        lines.append(buffer.getvalue()[:-1])
        buffer.seek(0)
        buffer.truncate()
    return lines


def query_cell(value: Any, is_datetime: bool = False) -> str:
    """Text of one query result value: ``true``/``false``, datetimes in UTC with ``Z``, nulls empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if is_datetime and isinstance(value, str):
        match = _API_DATETIME_RE.match(value)
        return match.group(1) + "Z" if match else value
    return str(value)
