"""Bulk API 2.0 query jobs: checking a query when the job is created, and running it into CSV lines.

Bulk queries use the same SOQL evaluator as REST, with Bulk API 2.0's limits (no GROUP BY, OFFSET, TYPEOF,
aggregate functions or parent-to-child subqueries). Columns are the selected field paths, parents flattened
(``Account.Name``) in canonical spelling; a null parent leaves its columns empty.
"""

from __future__ import annotations

from typing import Any

from salesbridge.sandbox import bulk_csv, soql
from salesbridge.sandbox.bulk_jobs import BulkApiError
from salesbridge.sandbox.errors import SandboxApiError
from salesbridge.sandbox.org import Org
from salesbridge.sandbox.schema import FieldDef, ObjectDef
from salesbridge.sandbox.soql import ast

_AGGREGATES = frozenset({"COUNT", "COUNT_DISTINCT", "SUM", "AVG", "MIN", "MAX"})


class _NoRecords:
    """A record source with nothing in it: running a query on it checks names and types without data."""

    def records(self, object_name: str, include_deleted: bool = False) -> list[dict[str, Any]]:
        return []

    def get(self, record_id: str) -> dict[str, Any] | None:
        return None

    def object_of(self, record_id: str) -> str | None:
        return None


def _bulk_error(error: SandboxApiError) -> SandboxApiError:
    return BulkApiError(error.error_code, error.message, status=400)


def validate(org: Org, query: str, *, include_deleted: bool) -> str:
    """Check a query as Create Query Job does; answers the queried object's name or raises (400)."""
    try:
        parsed = soql.parse(query)
        _check_bulk_limits(parsed)
        result = soql.execute(query, org.schema, _NoRecords(), include_deleted=include_deleted,
                              api_version=org.api_version, now=org.clock.now())
    except SandboxApiError as error:
        raise _bulk_error(error) from None
    object_def = org.schema.get(result.object_name or parsed.object_name)
    return object_def.name if object_def else parsed.object_name


def _check_bulk_limits(parsed: ast.Query) -> None:
    def refuse(what: str) -> BulkApiError:
        return BulkApiError("FEATURENOTENABLED", f"{what} not supported in Bulk V2 Query", status=400)

    for item in parsed.select:
        if isinstance(item, ast.SelectSubquery):
            raise BulkApiError("FEATURENOTENABLED",
                               "Aggregate Relationships not supported in Bulk V2 Query with CSV content type")
        if isinstance(item.expression, ast.FunctionCall):
            name = item.expression.upper_name
            raise refuse("Aggregate Functions" if name in _AGGREGATES else f"Function {item.expression.name}")
    if parsed.group_by:
        raise refuse("GROUP BY")
    if parsed.offset is not None:
        raise refuse("OFFSET")


def run(org: Org, query: str, *, include_deleted: bool, column_delimiter: str) -> tuple[str, list[str]]:
    """Run the query; answers the header line and one CSV line per record (no line endings)."""
    parsed = soql.parse(query)
    result = soql.execute(query, org.schema, org.store, include_deleted=include_deleted,
                          api_version=org.api_version, now=org.clock.now())
    root = org.schema.get(result.object_name or parsed.object_name)
    columns = [_resolve(org, root, item.expression.parts) for item in parsed.select
               if isinstance(item, ast.SelectField) and isinstance(item.expression, ast.FieldPath)]
    header = bulk_csv.query_lines([[name for name, _, _ in columns]], set(), column_delimiter)[0]
    datetime_columns = {index for index, (_, _, field_def) in enumerate(columns)
                        if field_def is not None and field_def.type == "datetime"}
    rows = ([_value(record, path) for _, path, _ in columns] for record in result.records)
    return header, bulk_csv.query_lines(rows, datetime_columns, column_delimiter)


def _resolve(org: Org, root: ObjectDef | None, parts: tuple[str, ...]) -> tuple[str, list[str], FieldDef | None]:
    """A selected path in canonical spelling: (column name, keys into the record, the field at the end)."""
    if root is not None and len(parts) > 1 and parts[0].lower() == root.name.lower() \
            and root.parent_relationship(parts[0]) is None:
        parts = parts[1:]
    keys: list[str] = []
    current = root
    for part in parts[:-1]:
        lookup = current.parent_relationship(part) if current is not None else None
        if lookup is None or lookup.relationship_name is None:
            keys.append(part)
            current = None
            continue
        keys.append(lookup.relationship_name)
        current = org.schema.get(lookup.reference_to[0]) if len(lookup.reference_to) == 1 else None
    field_def = current.field(parts[-1]) if current is not None else None
    keys.append(field_def.name if field_def is not None else parts[-1])
    return ".".join(keys), keys, field_def


def _value(record: dict[str, Any] | None, keys: list[str]) -> Any:
    value: Any = record
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value[key] if key in value else _get_ignoring_case(value, key)
    return value


def _get_ignoring_case(mapping: dict[str, Any], key: str) -> Any:
    wanted = key.lower()
    for name, value in mapping.items():
        if name.lower() == wanted:
            return value
    return None
