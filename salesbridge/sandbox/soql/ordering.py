"""ORDER BY as Salesforce sorts: text case-insensitively, picklists in their defined order, nulls first when
ascending and last when descending unless NULLS FIRST/LAST says otherwise.

Speed matters (100,000 records): each key's values are computed once into a list and rows are sorted by index
over it, one stable sort per key, last key first (so each key keeps its own direction). Keys holding no null are
used as they are; only keys with nulls are wrapped in tuples that put nulls where they belong.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from salesbridge.sandbox.soql.values import DATETIME, MULTI, NORMALIZERS, TEXT, canonical_datetime


@dataclass
class SortSpec:
    """One ORDER BY item: how to read the value, how it compares, and where nulls go.

    ``field_name`` is set when the value is a field of the row itself, which lets keys be read without a
    function call per row.
    """

    get: Callable[[Any], Any]
    kind: str
    descending: bool
    nulls_first: bool
    picklist_values: tuple[str, ...] = ()
    field_name: str | None = None

    def keys(self, rows: list[Any]) -> list[Any]:
        """The sort key of every row, in row order."""
        if self.field_name is not None:
            name = self.field_name
            values = [row.get(name) for row in rows]
        else:
            get = self.get
            values = [get(row) for row in rows]
        values = _normalized(values, self.kind)
        # With reverse=True the largest key comes first; pick the null rank that lands where nulls belong.
        null_key = (0,) if self.nulls_first != self.descending else (2,)
        if self.picklist_values:
            positions = {value.lower(): index for index, value in enumerate(self.picklist_values)}
            unknown = len(positions)
            return [null_key if value is None else (1, positions.get(value, unknown), value) for value in values]
        if None in values:
            return [null_key if value is None else (1, value) for value in values]
        return values


def _normalized(values: list[Any], kind: str) -> list[Any]:
    if kind == DATETIME:
        canonical = canonical_datetime
        return [value if value is None or (len(value) == 28 and value[-5:] == "+0000") else canonical(value)
                for value in values]
    if kind in (TEXT, MULTI):
        return [value.lower() if value.__class__ is str and value else NORMALIZERS[TEXT](value) for value in values]
    normalize = NORMALIZERS[kind]
    return [normalize(value) for value in values]


def sort_rows(rows: list[Any], specs: list[SortSpec]) -> list[Any]:
    """``rows`` sorted by ``specs`` (first spec most significant), as a new list."""
    for spec in reversed(specs):
        keys = spec.keys(rows)
        order = sorted(range(len(rows)), key=keys.__getitem__, reverse=spec.descending)
        rows = [rows[index] for index in order]
    return rows
