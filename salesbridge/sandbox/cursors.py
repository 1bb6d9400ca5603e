"""Query cursors: a query is evaluated once and its result kept, so that ``nextRecordsUrl`` pages are cheap.

Salesforce keeps a query's result behind a locator (``01gD0000002HU6KIAW-2000``: cursor id, then the offset of the
next page). A cursor is released after 15 minutes without use, and a user keeps at most 10 open: opening an
eleventh releases that user's oldest, as the SOAP and REST guides document. A released or unknown locator is
400 INVALID_QUERY_LOCATOR.
"""

from __future__ import annotations

import itertools
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from salesbridge.sandbox import ids
from salesbridge.sandbox.errors import SandboxApiError

#: Salesforce's key prefix for query locators.
LOCATOR_PREFIX = "01g"
CURSOR_TTL_SECONDS = 15 * 60
CURSORS_PER_USER = 10


@dataclass
class QueryCursor:
    """The whole result of one query, paged by offset."""

    cursor_id: str
    user_id: str
    resource: str
    records: list[dict[str, Any]]
    total_size: int
    batch_size: int
    last_used: float = field(default=0.0)

    def page(self, offset: int) -> tuple[list[dict[str, Any]], int | None]:
        """The records from ``offset`` and the offset of the next page (None on the last one)."""
        end = offset + self.batch_size
        next_offset = end if end < len(self.records) else None
        return self.records[offset:end], next_offset


def invalid_locator(locator: str) -> SandboxApiError:
    return SandboxApiError("INVALID_QUERY_LOCATOR", f"invalid query locator: {locator}")


class CursorStore:
    """Open cursors of one org, in memory (a restarted sandbox forgets them, as a real org's expire)."""

    def __init__(self, ttl_seconds: float = CURSOR_TTL_SECONDS, per_user: int = CURSORS_PER_USER,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_seconds = ttl_seconds
        self.per_user = per_user
        #: Seconds, monotonic; tests replace it to expire cursors without waiting.
        self.clock = clock
        self._cursors: OrderedDict[str, QueryCursor] = OrderedDict()
        self._sequence = itertools.count(1)
        self._lock = threading.Lock()

    def open(self, user_id: str, resource: str, records: list[dict[str, Any]], total_size: int,
             batch_size: int) -> QueryCursor:
        """Keep a result; releases expired cursors and the user's oldest beyond the per-user limit."""
        with self._lock:
            now = self.clock()
            self._expire(now)
            cursor = QueryCursor(ids.make_id(LOCATOR_PREFIX, next(self._sequence)), user_id, resource, records,
                                 total_size, batch_size, now)
            self._cursors[cursor.cursor_id] = cursor
            mine = [key for key, kept in self._cursors.items() if kept.user_id == user_id]
            for key in mine[: max(0, len(mine) - self.per_user)]:
                del self._cursors[key]
            return cursor

    def get(self, cursor_id: str, user_id: str) -> QueryCursor | None:
        """A live cursor of this user (touching it keeps it alive), or None."""
        with self._lock:
            now = self.clock()
            self._expire(now)
            cursor = self._cursors.get(cursor_id)
            if cursor is None or cursor.user_id != user_id:
                return None
            cursor.last_used = now
            return cursor

    def __len__(self) -> int:
        return len(self._cursors)

    def _expire(self, now: float) -> None:
        stale = [key for key, cursor in self._cursors.items() if now - cursor.last_used > self.ttl_seconds]
        for key in stale:
            del self._cursors[key]


_STORES: weakref.WeakKeyDictionary[Any, CursorStore] = weakref.WeakKeyDictionary()
_STORES_LOCK = threading.Lock()


def cursor_store(org: Any) -> CursorStore:
    """The cursor store of an org, made on first use (kept beside the org, not in it: cursors are transient)."""
    with _STORES_LOCK:
        store = _STORES.get(org)
        if store is None:
            store = CursorStore()
            _STORES[org] = store
        return store


def split_locator(locator: str) -> tuple[str, int]:
    """``<cursor id>-<offset>`` -> (cursor id, offset); anything else is INVALID_QUERY_LOCATOR."""
    cursor_id, _, offset_text = locator.rpartition("-")
    if not cursor_id or not offset_text.isdigit():
        raise invalid_locator(locator)
    return cursor_id, int(offset_text)
