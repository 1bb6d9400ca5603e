"""How SOQL compares values of each field type, and how a literal in a query becomes comparable.

Records are in API form, so most values compare as they are stored: dates (``YYYY-MM-DD``) and Salesforce
datetimes (``2013-05-08T21:20:00.000+0000``, always UTC, fixed width) sort correctly as strings. Only text needs
work: SOQL compares it case-insensitively, so text is lower-cased. Ids stay case-sensitive. A literal of the wrong
type for its field is refused as Salesforce refuses it (INVALID_FIELD, "value of filter criterion ...").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from salesbridge.salesforce.datetimes import format_datetime, parse_datetime
from salesbridge.sandbox import ids
from salesbridge.sandbox.soql import ast
from salesbridge.sandbox.soql.dates import date_range
from salesbridge.sandbox.soql.errors import query_error

# Comparison kinds: how a describe type compares.
TEXT = "text"
ID = "id"
NUMBER = "number"
BOOLEAN = "boolean"
DATE = "date"
DATETIME = "datetime"
MULTI = "multipicklist"

_KIND_OF_TYPE = {
    "id": ID, "reference": ID,
    "int": NUMBER, "double": NUMBER, "currency": NUMBER, "percent": NUMBER, "long": NUMBER,
    "boolean": BOOLEAN, "date": DATE, "datetime": DATETIME, "multipicklist": MULTI,
}

#: The type name Salesforce uses in "must be of type X" messages.
_TYPE_WORD = {TEXT: "string", ID: "id", BOOLEAN: "boolean", DATE: "date", DATETIME: "dateTime",
              MULTI: "string"}


def kind_of(describe_type: str) -> str:
    """The comparison kind of a describe type (anything textual compares as text)."""
    return _KIND_OF_TYPE.get(describe_type, TEXT)


def type_word(kind: str, describe_type: str) -> str:
    if kind == NUMBER:
        return "integer" if describe_type == "int" else "double"
    return _TYPE_WORD[kind]


@lru_cache(maxsize=65536)
def _canonical_datetime_slow(text: str) -> str | None:
    try:
        return format_datetime(parse_datetime(text))
    except ValueError:
        return None


def canonical_datetime(value: Any) -> str | None:
    """A stored datetime in Salesforce's fixed-width UTC form (the store keeps that form; others are converted)."""
    if not value:
        return None
    if len(value) == 28 and value[19] == "." and value.endswith("+0000"):
        return value
    return _canonical_datetime_slow(value)


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return value.lower() if isinstance(value, str) else str(value).lower()


def _identity_or_none(value: Any) -> Any:
    return value if value not in (None, "") else None


def _number(value: Any) -> Any:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return value


def _boolean(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() == "true"
    return bool(value)


def multi_values(value: Any) -> frozenset[str] | None:
    """A multi-select picklist value (``a;b``) as a set of lower-cased values; None when empty."""
    if not value:
        return None
    parts = frozenset(part.strip().lower() for part in str(value).split(";") if part.strip())
    return parts or None


#: Record value -> comparable value (None for null); booleans are never null in Salesforce.
NORMALIZERS: dict[str, Callable[[Any], Any]] = {
    TEXT: _text, ID: _identity_or_none, NUMBER: _number, BOOLEAN: _boolean, DATE: _identity_or_none,
    DATETIME: canonical_datetime, MULTI: multi_values,
}


_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def id_literal(text: str) -> str:
    """An id literal as the 18-character id it names; raises ValueError when it is not an id.

    15-character ids are case-sensitive; 18-character ones are not (their suffix records which characters are
    upper case), so an 18-character literal in any letter case names the same record, as in Salesforce.
    """
    if len(text) == 18 and not ids.is_valid_id(text):
        text = _restore_case(text)
    return ids.to_18(text)


def _restore_case(text: str) -> str:
    """Re-case the first 15 characters of an 18-character id from its (case-insensitive) suffix."""
    suffix = text[15:].upper()
    if any(char not in _SUFFIX_ALPHABET for char in suffix):
        raise ValueError(text)
    restored = []
    for chunk, code in enumerate(suffix):
        bits = _SUFFIX_ALPHABET.index(code)
        for offset in range(5):
            char = text[chunk * 5 + offset]
            restored.append(char.upper() if bits >> offset & 1 else char.lower())
    return "".join(restored) + suffix


@dataclass(frozen=True)
class Range:
    """A relative date literal resolved to ``[start, end)`` in the field's comparable form."""

    start: Any
    end: Any


class LiteralTyper:
    """Turns literals into values comparable with a field's normalised values, or raises Salesforce's error."""

    def __init__(self, query: str, today: date) -> None:
        self._query = query
        self._today = today

    def coerce(self, literal: ast.Literal, kind: str, describe_type: str, field_name: str) -> Any:
        """The comparable value of ``literal`` for a field of ``kind`` (a Range for relative date literals)."""
        if literal.kind == "null":
            # Salesforce: on a boolean field null matches false (``= null`` is ``= false``).
            return False if kind == BOOLEAN else None
        handler = getattr(self, f"_to_{kind}")
        result = handler(literal)
        if result is _MISMATCH:
            raise self.mismatch(literal, kind, describe_type, field_name)
        return result

    def mismatch(self, literal: ast.Literal, kind: str, describe_type: str, field_name: str) -> Exception:
        word = type_word(kind, describe_type)
        quoted = "should be enclosed in quotes" if kind in (TEXT, ID, MULTI) else "should not be enclosed in quotes"
        reason = f"value of filter criterion for field '{field_name}' must be of type {word} and {quoted}"
        return query_error("INVALID_FIELD", self._query, literal.pos, reason)

    def _to_text(self, literal: ast.Literal) -> Any:
        return literal.value.lower() if literal.kind == "string" else _MISMATCH

    def _to_multipicklist(self, literal: ast.Literal) -> Any:
        if literal.kind != "string":
            return _MISMATCH
        return multi_values(literal.value) or frozenset()

    def _to_id(self, literal: ast.Literal) -> Any:
        if literal.kind != "string":
            return _MISMATCH
        if literal.value == "":
            return None
        try:
            return id_literal(literal.value)
        except ValueError:
            raise query_error("INVALID_QUERY_FILTER_OPERATOR", self._query, literal.pos,
                              f"invalid ID field: {literal.value}") from None

    def _to_number(self, literal: ast.Literal) -> Any:
        return literal.value if literal.kind == "number" else _MISMATCH

    def _to_boolean(self, literal: ast.Literal) -> Any:
        return literal.value if literal.kind == "boolean" else _MISMATCH

    def _to_date(self, literal: ast.Literal) -> Any:
        if literal.kind == "date":
            return literal.value
        if literal.kind == "date_literal":
            start, end = self._range(literal)
            return Range(start.isoformat(), end.isoformat())
        return _MISMATCH

    def _to_datetime(self, literal: ast.Literal) -> Any:
        if literal.kind == "datetime":
            return literal.value
        if literal.kind == "date_literal":
            start, end = self._range(literal)
            return Range(f"{start.isoformat()}T00:00:00.000+0000", f"{end.isoformat()}T00:00:00.000+0000")
        return _MISMATCH

    def _range(self, literal: ast.Literal) -> tuple[date, date]:
        name, count = literal.value
        try:
            return date_range(name, count, self._today)
        except (ValueError, OverflowError):
            raise query_error("MALFORMED_QUERY", self._query, literal.pos,
                              f"unexpected token: '{literal.text}'") from None


_MISMATCH = object()
