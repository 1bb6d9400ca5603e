"""Validation of values written to the sandbox, with Salesforce's error codes.

BASELINE: unknown fields, read-only fields and required fields only. To be completed (types, lengths,
picklists, references, derived Name fields, unique/external ids).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from salesbridge.sandbox.errors import SandboxApiError
from salesbridge.sandbox.schema import ObjectDef

if TYPE_CHECKING:
    from salesbridge.sandbox.records import RecordService


def _known_fields(object_def: ObjectDef, values: dict[str, Any]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for name, value in values.items():
        if name == "attributes":
            continue
        field_def = object_def.field(name)
        if field_def is None:
            raise SandboxApiError(
                "INVALID_FIELD",
                f"No such column '{name}' on sobject of type {object_def.name}",
                fields=[name],
            )
        clean[field_def.name] = value
    return clean


def prepare_create(service: RecordService, object_def: ObjectDef, values: dict[str, Any]) -> dict[str, Any]:
    """Check and convert the values of a new record; raises SandboxApiError on the first problem."""
    clean = _known_fields(object_def, values)
    for field_def in object_def.fields.values():
        if field_def.required_on_create and clean.get(field_def.name) in (None, ""):
            raise SandboxApiError(
                "REQUIRED_FIELD_MISSING",
                f"Required fields are missing: [{field_def.name}]",
                fields=[field_def.name],
            )
    return clean


def prepare_update(service: RecordService, object_def: ObjectDef, existing: dict[str, Any],
                   values: dict[str, Any]) -> dict[str, Any]:
    """Check and convert the changed values of an existing record."""
    return _known_fields(object_def, values)


def derive(service: RecordService, object_def: ObjectDef, record: dict[str, Any]) -> None:
    """Fill server-computed fields (compound Name of Contact and Lead, and the like) in place."""


def check_unique(service: RecordService, object_def: ObjectDef, record: dict[str, Any]) -> None:
    """Refuse a second record with the same value in a unique field (DUPLICATE_VALUE)."""
