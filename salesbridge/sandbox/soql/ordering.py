"""ORDER BY as Salesforce sorts: text case-insensitively, picklists in their defined order, nulls first when
ascending and last when descending unless NULLS FIRST/LAST says otherwise.

Several keys sort as successive stable sorts, last key first, so each key can have its own direction without
building composite keys that mix ascending and descending values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from salesbridge.sandbox.soql.values import MULTI, NORMALIZERS, TEXT


@dataclass
class SortSpec:
    """One ORDER BY item: how to read the value, how it compares, and where nulls go."""

    get: Callable[[Any], Any]
    kind: str
    descending: bool
    nulls_first: bool
    picklist_values: tuple[str, ...] = ()

    def key_function(self) -> Callable[[Any], tuple]:
        get = self.get
        normalize = NORMALIZERS[TEXT] if self.kind == MULTI else NORMALIZERS[self.kind]
        # With reverse=True the largest key comes first; pick the null rank that lands where nulls belong.
        null_key = (0,) if self.nulls_first != self.descending else (2,)
        if self.picklist_values:
            positions = {value.lower(): index for index, value in enumerate(self.picklist_values)}
            unknown = len(positions)

            def picklist_key(row: Any) -> tuple:
                value = normalize(get(row))
                if value is None:
                    return null_key
                return (1, positions.get(value, unknown), value)

            return picklist_key

        def key(row: Any) -> tuple:
            value = normalize(get(row))
            return null_key if value is None else (1, value)

        return key


def sort_rows(rows: list[Any], specs: list[SortSpec]) -> None:
    """Sort ``rows`` in place by ``specs`` (first spec most significant)."""
    for spec in reversed(specs):
        rows.sort(key=spec.key_function(), reverse=spec.descending)
