"""Finding records by a field's value once per row of a bulk job, without scanning the object each time.

``RecordService.find_by_field`` scans every record of the object: fine for one REST upsert, but a 10,000-row
upsert against 10,000 records would compare 10^8 values (minutes). A job builds this index once instead.

The index must not go stale while the job runs and other clients write: a hit is checked against the stored
record (still live, still holding the value), and a miss is trusted only while the object's record count is
what this job expects (its own inserts are noted); otherwise the index is rebuilt before answering. A value
given to an existing record by another client's update during the job is not seen, the same race two parallel
jobs have on Salesforce.
"""

from __future__ import annotations

from typing import Any

from salesbridge.sandbox.store import Store


def _key(value: Any) -> Any:
    """External ids match case-insensitively, as Salesforce matches text external ids."""
    return value.lower() if isinstance(value, str) else value


class FieldValueIndex:
    """Ids of live records of one object by the value of one field."""

    def __init__(self, store: Store, object_name: str, field_name: str) -> None:
        self.store = store
        self.object_name = object_name
        self.field_name = field_name
        self._ids: dict[Any, list[str]] = {}
        self._expected_count = -1

    def matches(self, value: Any) -> list[str]:
        """Ids of the live records whose field equals ``value`` (text compared case-insensitively)."""
        with self.store.lock:
            if self._expected_count != self.store.count(self.object_name):
                self._rebuild()
            found = self._verified(value)
            if not found and self._expected_count != self.store.count(self.object_name):
                self._rebuild()
                found = self._verified(value)
            return found

    def note_created(self, value: Any, record_id: str) -> None:
        """Record an insert this job made, so that the index stays current without a rebuild."""
        with self.store.lock:
            self._ids.setdefault(_key(value), []).append(record_id)
            self._expected_count += 1

    def _verified(self, value: Any) -> list[str]:
        key = _key(value)
        live = []
        for record_id in self._ids.get(key, []):
            record = self.store.get(record_id)
            if record is not None and not record.get("IsDeleted") and _key(record.get(self.field_name)) == key:
                live.append(record_id)
        return live

    def _rebuild(self) -> None:
        self._ids = {}
        for record in self.store.records(self.object_name):
            value = record.get(self.field_name)
            if value is not None:
                self._ids.setdefault(_key(value), []).append(record["Id"])
        self._expected_count = self.store.count(self.object_name)
