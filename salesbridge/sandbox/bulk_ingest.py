"""Processing an ingest job's rows: each row is one write through the org's RecordService.

A failed row does not stop the others; its error is kept in Salesforce's ``sf__Error`` form. Header problems
(unknown fields, a delete file with more than Ids) fail the whole job before any row is written, as Salesforce
does. Relationship columns (``Account.Hub_Id__c``, or ``Account:Parent.Hub_Id__c`` for a polymorphic lookup)
set the lookup to the parent whose external id matches.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from salesbridge.sandbox import ids
from salesbridge.sandbox.bulk_csv import NULL_MARKER, CsvTable, cell_to_value, format_error
from salesbridge.sandbox.bulk_lookup import FieldValueIndex
from salesbridge.sandbox.errors import SandboxApiError
from salesbridge.sandbox.org import Org
from salesbridge.sandbox.schema import FieldDef, ObjectDef

log = logging.getLogger(__name__)


class JobFailure(Exception):
    """The whole job fails (state Failed) with this ``errorMessage``; no row is written."""


@dataclass
class Column:
    """What one CSV column writes: a field, or a lookup set through a parent's external id."""

    header: str
    field: FieldDef
    #: For relationship columns: the parent object and the parent field the cell's value is matched against.
    parent_object: str | None = None
    parent_field: FieldDef | None = None

    @property
    def is_relationship(self) -> bool:
        return self.parent_field is not None


@dataclass
class IngestOutcome:
    """Result rows (as text cells, ``sf__`` columns first) for the three result files."""

    successful: list[list[str]] = field(default_factory=list)
    failed: list[list[str]] = field(default_factory=list)
    unprocessed: list[list[str]] = field(default_factory=list)


def plan_columns(org: Org, object_def: ObjectDef, header: list[str], operation: str) -> list[Column]:
    """Resolve the uploaded header against the object; raises JobFailure naming the first bad column."""
    if operation in ("delete", "hardDelete") and [name.lower() for name in header] != ["id"]:
        raise JobFailure(f"InvalidBatch : The '{operation}' batch must contain only ids")
    columns: list[Column] = []
    for name in header:
        column = _column(org, object_def, name)
        if column is None:
            raise JobFailure(f"InvalidBatch : Field name not found : {name}")
        columns.append(column)
    return columns


def _column(org: Org, object_def: ObjectDef, name: str) -> Column | None:
    if "." not in name:
        field_def = object_def.field(name)
        return Column(name, field_def) if field_def is not None else None
    path, _, parent_field_name = name.rpartition(".")
    parent_type, _, relationship = path.rpartition(":")
    lookup = object_def.parent_relationship(relationship)
    if lookup is None or not lookup.reference_to:
        return None
    parent_name = parent_type or lookup.reference_to[0]
    if parent_name.lower() not in (target.lower() for target in lookup.reference_to):
        return None
    parent_def = org.schema.get(parent_name)
    parent_field = parent_def.field(parent_field_name) if parent_def else None
    if parent_def is None or parent_field is None:
        return None
    if not (parent_field.type == "id" or parent_field.external_id or parent_field.unique):
        return None
    return Column(name, lookup, parent_def.name, parent_field)


class IngestRun:
    """Writes the rows of one job in order, collecting result rows; stops early when told to (abort)."""

    def __init__(self, org: Org, object_def: ObjectDef, operation: str, external_id_field: str | None,
                 columns: list[Column], user_id: str) -> None:
        self.org = org
        self.object_def = object_def
        self.operation = operation
        self.external_id_field = external_id_field
        self.columns = columns
        self.user_id = user_id
        self._id_column = _index_of(columns, "Id")
        self._external_column = _index_of(columns, external_id_field) if external_id_field else None
        self._indexes: dict[tuple[str, str], FieldValueIndex] = {}

    def run(self, table: CsvTable, should_stop: Callable[[], bool],
            on_row: Callable[[bool], None]) -> IngestOutcome:
        """Process every row; ``on_row(failed)`` is called after each, ``should_stop`` before each."""
        outcome = IngestOutcome()
        for position, row in enumerate(table.rows):
            if should_stop():
                outcome.unprocessed.extend(table.rows[position:])
                break
            try:
                record_id, created = self._write(row)
            except SandboxApiError as error:
                outcome.failed.append([self._failed_id(row), format_error(_bulk_error(error))] + row)
                on_row(True)
            except Exception as error:  # a sandbox bug must not stop the other rows, as on Salesforce
                log.exception("bulk row failed unexpectedly")
                unknown = SandboxApiError("UNKNOWN_EXCEPTION", f"An unexpected error occurred: {error}")
                outcome.failed.append([self._failed_id(row), format_error(unknown)] + row)
                on_row(True)
            else:
                outcome.successful.append([record_id, "true" if created else "false"] + row)
                on_row(False)
        return outcome

    # -- one row -------------------------------------------------------------------------------------
    def _write(self, row: list[str]) -> tuple[str, bool]:
        records = self.org.records
        name = self.object_def.name
        if self.operation == "insert":
            if self._id_column is not None and row[self._id_column]:
                raise SandboxApiError("INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call",
                                      fields=["Id"])
            return records.create(name, self._values(row), self.user_id), True
        if self.operation == "upsert":
            return self._upsert(row)
        record_id = self._record_id(row)
        if self.operation == "update":
            records.update(name, record_id, self._values(row), self.user_id)
        else:
            records.delete(name, record_id, self.user_id)
        return ids.to_18(record_id), False

    def _upsert(self, row: list[str]) -> tuple[str, bool]:
        """Update the one record with the row's external id, or insert one; several matches fail the row.

        Same rule as ``RecordService.upsert``, with the match found through the job's index rather than a scan.
        """
        assert self.external_id_field is not None
        records = self.org.records
        name = self.object_def.name
        external_value = self._external_value(row)
        if self.external_id_field.lower() == "id":
            return records.upsert(name, "Id", external_value, self._values(row), self.user_id)
        index = self._index(name, self.external_id_field)
        with self.org.store.lock:
            matches = index.matches(external_value)
            if len(matches) > 1:
                error = SandboxApiError("MULTIPLE_CHOICES", "more than one record found for external id")
                error.candidates = matches  # type: ignore[attr-defined]
                raise error
            values = self._values(row)
            if matches:
                records.update(name, matches[0], values, self.user_id)
                return matches[0], False
            values[self.external_id_field] = external_value
            record_id = records.create(name, values, self.user_id)
            index.note_created(external_value, record_id)
            return record_id, True

    def _record_id(self, row: list[str]) -> str:
        value = row[self._id_column] if self._id_column is not None else ""
        if not value:
            raise SandboxApiError("MISSING_ARGUMENT", f"Id not specified in an {self.operation} call")
        return value

    def _external_value(self, row: list[str]) -> Any:
        assert self.external_id_field is not None
        if self.external_id_field.lower() == "id":
            return row[self._id_column] if self._id_column is not None else ""
        cell = row[self._external_column] if self._external_column is not None else ""
        if not cell or cell == NULL_MARKER:
            raise SandboxApiError("MISSING_ARGUMENT", f"{self.external_id_field} not specified")
        column = self.columns[self._external_column]  # type: ignore[index]
        return cell_to_value(column.field, cell, self._external_column + 1)  # type: ignore[operator]

    def _values(self, row: list[str]) -> dict[str, Any]:
        """The row's field values: empty cells are left out (no value on insert, unchanged on update)."""
        values: dict[str, Any] = {}
        for index, (column, cell) in enumerate(zip(self.columns, row, strict=True)):
            if cell == "" or index in (self._id_column, self._external_column):
                continue
            if column.is_relationship:
                values[column.field.name] = None if cell == NULL_MARKER else self._parent_id(column, cell)
            else:
                values[column.field.name] = cell_to_value(column.field, cell, index + 1)
        return values

    def _failed_id(self, row: list[str]) -> str:
        if self.operation in ("update", "delete", "hardDelete") and self._id_column is not None:
            return row[self._id_column]
        return ""

    # -- relationship columns --------------------------------------------------------------------------
    def _parent_id(self, column: Column, cell: str) -> str:
        """The id of the one parent whose field matches the cell (text compared case-insensitively)."""
        assert column.parent_object is not None and column.parent_field is not None
        if column.parent_field.type == "id":
            return self.org.records.resolve_id(cell)
        value = cell_to_value(column.parent_field, cell, self.columns.index(column) + 1)
        matches = self._index(column.parent_object, column.parent_field.name).matches(value)
        if not matches:
            raise SandboxApiError(
                "INVALID_FIELD",
                f"Foreign key external ID: {cell} not found for field {column.parent_field.name} in entity "
                f"{column.parent_object}",
            )
        if len(matches) > 1:
            raise SandboxApiError(
                "INVALID_FIELD",
                f"Foreign key external ID: {cell} matches more than one record for field "
                f"{column.parent_field.name} in entity {column.parent_object}",
            )
        return matches[0]

    def _index(self, object_name: str, field_name: str) -> FieldValueIndex:
        key = (object_name.lower(), field_name.lower())
        if key not in self._indexes:
            self._indexes[key] = FieldValueIndex(self.org.store, object_name, field_name)
        return self._indexes[key]


def _index_of(columns: list[Column], field_name: str | None) -> int | None:
    if field_name is None:
        return None
    wanted = field_name.lower()
    for index, column in enumerate(columns):
        if not column.is_relationship and column.field.name.lower() == wanted:
            return index
    return None


def _bulk_error(error: SandboxApiError) -> SandboxApiError:
    """Errors the REST API answers as HTTP statuses, spelled as Bulk API results spell them."""
    if error.error_code == "NOT_FOUND":
        return SandboxApiError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
    if error.error_code == "MULTIPLE_CHOICES":
        candidates = ", ".join(getattr(error, "candidates", []))
        return SandboxApiError("DUPLICATE_EXTERNAL_ID",
                               f"more than one record found for external id field: [{candidates}]")
    return error


def elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
