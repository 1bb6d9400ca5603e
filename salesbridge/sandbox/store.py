"""Records of the sandbox org, held in memory and written through to SQLite.

Records are kept in API form: a dict of canonical field name -> JSON value (datetimes as
``2013-05-08T21:20:00.000+0000`` strings, dates as ``YYYY-MM-DD``), so that reads need no conversion and the
SOQL evaluator converts by field type only where it compares. Deleted records stay (``IsDeleted`` true) so that
queryAll and getDeleted see them.

All access goes through one re-entrant lock; ``transaction()`` gives all-or-none writes (used by allOrNone
collections, composite requests and lead conversion): on an exception every record touched is restored.
"""

from __future__ import annotations

import copy
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from salesbridge.sandbox import ids

_SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS records (
    id TEXT PRIMARY KEY,
    object TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS kv (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


class Store:
    """The sandbox's record store. Thread-safe; one instance per server."""

    def __init__(self, path: str = ":memory:") -> None:
        self.path = path
        self.lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL" if path != ":memory:" else "PRAGMA journal_mode=MEMORY")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA_SQL)
        self._by_object: dict[str, dict[str, dict[str, Any]]] = {}
        self._object_of: dict[str, str] = {}
        self._sequence: dict[str, int] = {}
        self._undo: dict[str, tuple[str, dict[str, Any]] | None] | None = None
        self._dirty: set[str] = set()
        self._put_observers: list[Callable[[str, dict[str, Any]], None]] = []
        self._load()

    # -- loading and persistence -------------------------------------------------------------------
    def _load(self) -> None:
        for record_id, object_name, data in self._db.execute("SELECT id, object, data FROM records"):
            self._by_object.setdefault(object_name.lower(), {})[record_id] = json.loads(data)
            self._object_of[record_id] = object_name
            self._note_sequence(record_id)

    def _note_sequence(self, record_id: str) -> None:
        prefix = record_id[:3]
        digits = record_id[5:15]
        value = 0
        for char in digits:
            value = value * 62 + ids._BASE62.index(char)
        if value > self._sequence.get(prefix, 0):
            self._sequence[prefix] = value

    def _flush(self) -> None:
        if not self._dirty:
            return
        rows_put = []
        for record_id in self._dirty:
            object_name = self._object_of.get(record_id)
            if object_name is None:
                continue
            data = self._by_object[object_name.lower()][record_id]
            rows_put.append((record_id, object_name, json.dumps(data, separators=(",", ":"))))
        self._db.execute("BEGIN")
        self._db.executemany("INSERT OR REPLACE INTO records (id, object, data) VALUES (?, ?, ?)", rows_put)
        self._db.execute("COMMIT")
        self._dirty.clear()

    # -- ids ---------------------------------------------------------------------------------------
    def new_id(self, key_prefix: str) -> str:
        """The next id for a key prefix (monotonic, so ORDER BY Id is creation order)."""
        with self.lock:
            sequence = self._sequence.get(key_prefix, 0) + 1
            self._sequence[key_prefix] = sequence
            return ids.make_id(key_prefix, sequence)

    # -- reads -------------------------------------------------------------------------------------
    def get(self, record_id: str) -> dict[str, Any] | None:
        """A record by its 18-character id (deleted ones included); the stored dict, do not mutate."""
        object_name = self._object_of.get(record_id)
        if object_name is None:
            return None
        return self._by_object[object_name.lower()].get(record_id)

    def object_of(self, record_id: str) -> str | None:
        return self._object_of.get(record_id)

    def records(self, object_name: str, include_deleted: bool = False) -> list[dict[str, Any]]:
        """All records of an object in id order; the stored dicts, do not mutate."""
        with self.lock:
            table = self._by_object.get(object_name.lower(), {})
            if include_deleted:
                return list(table.values())
            return [record for record in table.values() if not record.get("IsDeleted")]

    def count(self, object_name: str) -> int:
        return len(self._by_object.get(object_name.lower(), {}))

    # -- writes ------------------------------------------------------------------------------------
    def put(self, object_name: str, record: dict[str, Any]) -> None:
        """Insert or replace a record (by its ``Id``). Callers set system fields; the store only keeps."""
        record_id = record["Id"]
        with self.lock:
            self._remember(record_id)
            self._by_object.setdefault(object_name.lower(), {})[record_id] = record
            self._object_of[record_id] = object_name
            self._dirty.add(record_id)
            self._notify(object_name, record)
            if self._undo is None:
                self._flush()

    def add_put_observer(self, observer: Callable[[str, dict[str, Any]], None]) -> None:
        """Call ``observer(object_name, record)`` for every record stored, restored or rolled back to.

        Indexes over record values (unique and external id fields) stay complete whatever path wrote.
        """
        with self.lock:
            self._put_observers.append(observer)

    def _notify(self, object_name: str, record: dict[str, Any]) -> None:
        for observer in self._put_observers:
            observer(object_name, record)

    def _remember(self, record_id: str) -> None:
        if self._undo is None or record_id in self._undo:
            return
        object_name = self._object_of.get(record_id)
        if object_name is None:
            self._undo[record_id] = None
        else:
            self._undo[record_id] = (object_name, copy.deepcopy(self._by_object[object_name.lower()][record_id]))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside commit together or, on an exception, are all undone. Nests (inner is a no-op)."""
        with self.lock:
            if self._undo is not None:
                yield
                return
            self._undo = {}
            try:
                yield
            except BaseException:
                self._rollback()
                raise
            else:
                self._undo = None
                self._flush()

    def _rollback(self) -> None:
        assert self._undo is not None
        for record_id, previous in self._undo.items():
            current_object = self._object_of.get(record_id)
            if previous is None:
                if current_object is not None:
                    del self._by_object[current_object.lower()][record_id]
                    del self._object_of[record_id]
            else:
                object_name, data = previous
                self._by_object.setdefault(object_name.lower(), {})[record_id] = data
                self._object_of[record_id] = object_name
                self._notify(object_name, data)
            self._dirty.discard(record_id)
        self._undo = None

    def delete_all(self, keep_objects: tuple[str, ...] = ()) -> int:
        """Remove every record (not a soft delete) except those of ``keep_objects``; answers how many.

        For the admin "reset" of a test org; id sequences continue so ids are never reused.
        """
        keep = {name.lower() for name in keep_objects}
        with self.lock:
            doomed = [record_id for record_id, object_name in self._object_of.items()
                      if object_name.lower() not in keep]
            for record_id in doomed:
                del self._by_object[self._object_of.pop(record_id).lower()][record_id]
                self._dirty.discard(record_id)
            self._db.execute("BEGIN")
            self._db.executemany("DELETE FROM records WHERE id = ?", [(record_id,) for record_id in doomed])
            self._db.execute("COMMIT")
            return len(doomed)

    # -- small persistent key/value state (tokens, bulk jobs, usage counters) -----------------------
    def kv_get(self, key: str, default: Any = None) -> Any:
        with self.lock:
            row = self._db.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def kv_set(self, key: str, value: Any) -> None:
        with self.lock:
            self._db.execute("INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)", (key, json.dumps(value)))

    def kv_delete(self, key: str) -> None:
        with self.lock:
            self._db.execute("DELETE FROM kv WHERE key = ?", (key,))

    def close(self) -> None:
        with self.lock:
            self._flush()
            self._db.close()
