"""The write path every sandbox API shares (REST, collections, composite, Bulk API 2.0, SOAP).

One place sets the system fields (Id, CreatedDate, CreatedById, LastModifiedDate, LastModifiedById,
SystemModstamp, IsDeleted, OwnerId) and runs validation, so that every API behaves the same for the same input.
Validation of values (types, lengths, picklists, read-only fields) lives in ``validation``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from salesbridge.salesforce.datetimes import format_datetime
from salesbridge.sandbox import ids, validation
from salesbridge.sandbox.errors import SandboxApiError, malformed_id, not_found
from salesbridge.sandbox.schema import ObjectDef, Schema
from salesbridge.sandbox.store import Store

#: Fields the server keeps; a client may not write them.
SYSTEM_FIELDS = ("Id", "CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById", "SystemModstamp",
                 "IsDeleted")

#: A server-side rule run on a write: (service, the complete record, acting user id). It may change the record
#: (``before_insert`` only), write other records through the service, or raise SandboxApiError to refuse.
RecordHook = Callable[["RecordService", dict[str, Any], str], None]
#: When hooks run: just before a new record is stored, and just after a record is soft-deleted.
HOOK_EVENTS = ("before_insert", "after_delete")


class Clock:
    """Wall-clock UTC time, strictly increasing by at least a millisecond between calls.

    Salesforce stamps have millisecond precision; keeping them strictly increasing makes "changed since" tests
    deterministic without sleeping. Tests may shift it forward (``advance``) to play with relative dates.
    """

    def __init__(self, now: Callable[[], datetime] | None = None) -> None:
        self._now = now or (lambda: datetime.now(UTC))
        self._last: datetime | None = None
        self._offset_seconds = 0.0
        self._lock = threading.Lock()

    def now(self) -> datetime:
        from datetime import timedelta

        with self._lock:
            current = self._now() + timedelta(seconds=self._offset_seconds)
            current = current.replace(microsecond=current.microsecond // 1000 * 1000)
            if self._last is not None and current <= self._last:
                current = self._last + timedelta(milliseconds=1)
            self._last = current
            return current

    def peek(self) -> datetime:
        """The current time without taking a stamp: for expiry checks and usage windows, which must not push
        record stamps ahead of the wall clock by calling ``now`` many times a millisecond."""
        from datetime import timedelta

        with self._lock:
            return self._now() + timedelta(seconds=self._offset_seconds)

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset_seconds += seconds


class RecordService:
    """Create, update, upsert, delete and read records with Salesforce's rules."""

    def __init__(self, schema: Schema, store: Store, clock: Clock | None = None) -> None:
        self.schema = schema
        self.store = store
        self.clock = clock or Clock()
        self._hooks: dict[tuple[str, str], list[RecordHook]] = {}

    # -- hooks -------------------------------------------------------------------------------------
    def add_hook(self, event: str, object_name: str, hook: RecordHook) -> None:
        """Run ``hook`` on ``event`` for records of ``object_name``.

        Some objects have server-side effects (a ContentVersion makes its ContentDocument, deleting a document
        deletes its versions); hooks keep those rules in their own modules while every API still writes
        through this one path, inside the write's transaction.
        """
        if event not in HOOK_EVENTS:
            raise ValueError(f"unknown hook event {event!r}; expected one of {HOOK_EVENTS}")
        self._hooks.setdefault((event, object_name.lower()), []).append(hook)

    def _run_hooks(self, event: str, object_name: str, record: dict[str, Any], user_id: str) -> None:
        for hook in self._hooks.get((event, object_name.lower()), ()):
            hook(self, record, user_id)

    # -- lookups -----------------------------------------------------------------------------------
    def object_def(self, object_name: str) -> ObjectDef:
        """The object named ``object_name`` or 404 NOT_FOUND as Salesforce answers for an unknown sObject."""
        object_def = self.schema.get(object_name)
        if object_def is None:
            raise SandboxApiError("NOT_FOUND", "The requested resource does not exist", status=404)
        return object_def

    def resolve_id(self, record_id: str, object_def: ObjectDef | None = None) -> str:
        """Normalise a 15/18-character id, refusing malformed ones and ids of another object."""
        try:
            full = ids.to_18(record_id)
        except ValueError:
            raise malformed_id(record_id, object_def.name if object_def else None) from None
        if object_def is not None and full[:3] != object_def.key_prefix:
            raise malformed_id(record_id, object_def.name)
        return full

    def get(self, object_name: str, record_id: str, *, include_deleted: bool = False) -> dict[str, Any]:
        """A live record (or deleted, if asked) or 404 NOT_FOUND."""
        object_def = self.object_def(object_name)
        full = self.resolve_id(record_id, object_def)
        record = self.store.get(full)
        if record is None or (record.get("IsDeleted") and not include_deleted):
            raise not_found()
        return record

    def find_by_field(self, object_name: str, field_name: str, value: Any) -> list[dict[str, Any]]:
        """Live records whose field equals ``value`` (text compared case-insensitively, like external ids).

        Unique and external-id fields are answered from an index, so upserts stay fast on large objects.
        """
        object_def = self.object_def(object_name)
        return [record for record_id in validation.find_ids(self, object_def, field_name, value)
                if (record := self.store.get(record_id)) is not None]

    # -- writes ------------------------------------------------------------------------------------
    def create(self, object_name: str, values: dict[str, Any], user_id: str) -> str:
        """Insert a record and answer its id; raises SandboxApiError with Salesforce's code on bad input."""
        object_def = self.object_def(object_name)
        if not object_def.createable:
            raise SandboxApiError("INVALID_TYPE", f"Cannot create {object_def.name}", status=400)
        with self.store.lock, self.store.transaction():
            clean = validation.prepare_create(self, object_def, values)
            return self._insert(object_def, clean, user_id)

    def system_create(self, object_name: str, values: dict[str, Any], user_id: str) -> str:
        """Insert a record the API may not create itself (a ContentDocument, made by its first version).

        Values are taken as given (no field validation), but system fields and hooks apply as for ``create``.
        """
        object_def = self.object_def(object_name)
        with self.store.lock, self.store.transaction():
            return self._insert(object_def, dict(values), user_id)

    def _insert(self, object_def: ObjectDef, clean: dict[str, Any], user_id: str) -> str:
        stamp = format_datetime(self.clock.now())
        record_id = self.store.new_id(object_def.key_prefix)
        record: dict[str, Any] = {name: None for name in object_def.fields}
        record.update(clean)
        record.update({
            "Id": record_id, "IsDeleted": False, "CreatedDate": stamp, "CreatedById": user_id,
            "LastModifiedDate": stamp, "LastModifiedById": user_id, "SystemModstamp": stamp,
        })
        if "OwnerId" in object_def.fields and not record.get("OwnerId"):
            record["OwnerId"] = user_id
        validation.derive(self, object_def, record)
        validation.check_unique(self, object_def, record)
        self._run_hooks("before_insert", object_def.name, record, user_id)
        self.store.put(object_def.name, record)
        return record_id

    def update(self, object_name: str, record_id: str, values: dict[str, Any], user_id: str) -> None:
        """Change a live record; 404 when it does not exist or is deleted (ENTITY_IS_DELETED)."""
        object_def = self.object_def(object_name)
        full = self.resolve_id(record_id, object_def)
        with self.store.lock:
            existing = self.store.get(full)
            if existing is None:
                raise not_found()
            if existing.get("IsDeleted"):
                raise SandboxApiError("ENTITY_IS_DELETED", "entity is deleted", status=404)
            if object_def.name == "Lead" and existing.get("IsConverted"):
                raise SandboxApiError("CANNOT_UPDATE_CONVERTED_LEAD",
                                      "cannot reference converted lead", status=400)
            clean = validation.prepare_update(self, object_def, existing, values)
            record = dict(existing)
            record.update(clean)
            stamp = format_datetime(self.clock.now())
            record.update({"LastModifiedDate": stamp, "LastModifiedById": user_id, "SystemModstamp": stamp})
            validation.derive(self, object_def, record)
            validation.check_unique(self, object_def, record)
            self.store.put(object_def.name, record)

    def system_update(self, object_name: str, record_id: str, values: dict[str, Any], user_id: str) -> None:
        """Set fields the API treats as read-only (lead conversion, ContentDocument ids); stamps as an update."""
        object_def = self.object_def(object_name)
        full = self.resolve_id(record_id, object_def)
        with self.store.lock:
            existing = self.store.get(full)
            if existing is None:
                raise not_found()
            record = dict(existing)
            record.update(values)
            stamp = format_datetime(self.clock.now())
            record.update({"LastModifiedDate": stamp, "LastModifiedById": user_id, "SystemModstamp": stamp})
            validation.derive(self, object_def, record)
            self.store.put(object_def.name, record)

    def upsert(self, object_name: str, external_field: str, external_value: Any, values: dict[str, Any],
               user_id: str) -> tuple[str, bool]:
        """Update the record whose external id matches, or create one; answers (id, created).

        Several matches answer 300 MULTIPLE_CHOICES with the candidates' urls, as Salesforce does.
        """
        object_def = self.object_def(object_name)
        if external_field.lower() == "id":
            if external_value in (None, ""):
                return self.create(object_def.name, values, user_id), True
            record_id = self.resolve_id(str(external_value), object_def)
            self.update(object_def.name, record_id, values, user_id)
            return record_id, False
        field_def = object_def.field(external_field)
        if field_def is None or not (field_def.external_id or field_def.unique):
            raise SandboxApiError(
                "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: {external_field}",
                status=404,
            )
        with self.store.lock:
            matches = self.find_by_field(object_def.name, field_def.name, external_value)
            if len(matches) > 1:
                error = SandboxApiError("MULTIPLE_CHOICES", "more than one record found for external id",
                                        status=300)
                error.candidates = [m["Id"] for m in matches]  # type: ignore[attr-defined]
                raise error
            body = {k: v for k, v in values.items() if k.lower() != field_def.name.lower()}
            if matches:
                self.update(object_def.name, matches[0]["Id"], body, user_id)
                return matches[0]["Id"], False
            body[field_def.name] = external_value
            return self.create(object_def.name, body, user_id), True

    def delete(self, object_name: str | None, record_id: str, user_id: str) -> None:
        """Soft-delete: the record stays for queryAll/getDeleted with IsDeleted true."""
        object_def = self.object_def(object_name) if object_name else None
        full = self.resolve_id(record_id, object_def)
        with self.store.lock:
            existing = self.store.get(full)
            if existing is None:
                raise SandboxApiError("NOT_FOUND", "The requested resource does not exist",
                                      status=404) if object_def else SandboxApiError(
                    "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", status=400)
            if existing.get("IsDeleted"):
                raise SandboxApiError("ENTITY_IS_DELETED", "entity is deleted", status=404)
            owner_object = self.schema.get(self.store.object_of(full) or "")
            if owner_object is not None and not owner_object.deletable:
                raise SandboxApiError("INSUFFICIENT_ACCESS_OR_READONLY",
                                      f"cannot delete {owner_object.name}", status=400)
            self._soft_delete(existing, user_id)

    def system_delete(self, record_id: str, user_id: str) -> None:
        """Soft-delete as the side effect of another delete (a document's versions), whatever the API allows.

        Already deleted or unknown records are left alone, so cascades may overlap.
        """
        with self.store.lock:
            existing = self.store.get(ids.to_18(record_id))
            if existing is not None and not existing.get("IsDeleted"):
                self._soft_delete(existing, user_id)

    def _soft_delete(self, existing: dict[str, Any], user_id: str) -> None:
        object_name = self.store.object_of(existing["Id"]) or ""
        with self.store.transaction():
            record = dict(existing)
            stamp = format_datetime(self.clock.now())
            record.update({"IsDeleted": True, "LastModifiedDate": stamp, "LastModifiedById": user_id,
                           "SystemModstamp": stamp, "_DeletedDate": stamp})
            self.store.put(object_name, record)
            self._run_hooks("after_delete", object_name, record, user_id)
