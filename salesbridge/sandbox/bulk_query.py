"""Bulk API 2.0 query jobs: checking a query when the job is created, and running it into CSV lines.

Bulk queries use the same SOQL evaluator as REST, with Bulk API 2.0's limits (no GROUP BY, OFFSET, TYPEOF,
aggregate functions or parent-to-child subqueries). Columns are the selected field paths, parents flattened
(``Account.Name``) in canonical spelling; a null parent leaves its columns empty.
"""

from __future__ import annotations

from salesbridge.sandbox import bulk_csv, soql
from salesbridge.sandbox.bulk_jobs import BulkApiError
from salesbridge.sandbox.errors import SandboxApiError
from salesbridge.sandbox.org import Org
from salesbridge.sandbox.schema import ObjectDef
from salesbridge.sandbox.soql import ast

_AGGREGATES = frozenset({"COUNT", "COUNT_DISTINCT", "SUM", "AVG", "MIN", "MAX"})


def _bulk_error(error: SandboxApiError) -> SandboxApiError:
    return BulkApiError(error.error_code, error.message, status=400)


def validate(org: Org, query: str, *, include_deleted: bool) -> str:
    """Check a query as Create Query Job does; answers the queried object's name or raises (400)."""
    try:
        _check_bulk_limits(soql.parse(query))
        plan = soql.compile_query(query, org.schema, org.store, include_deleted=include_deleted,
                                  api_version=org.api_version, now=org.clock.now())
    except SandboxApiError as error:
        raise _bulk_error(error) from None
    return plan.object_name


def _check_bulk_limits(parsed: ast.Query) -> None:
    def refuse(what: str) -> BulkApiError:
        return BulkApiError("FEATURENOTENABLED", f"{what} not supported in Bulk V2 Query", status=400)

    for item in parsed.select:
        if isinstance(item, ast.SelectSubquery):
            raise BulkApiError("FEATURENOTENABLED",
                               "Aggregate Relationships not supported in Bulk V2 Query with CSV content type")
        if isinstance(item.expression, ast.FunctionCall) and item.expression.upper_name != "FIELDS":
            name = item.expression.upper_name
            raise refuse("Aggregate Functions" if name in _AGGREGATES else f"Function {item.expression.name}")
    if parsed.group_by:
        raise refuse("GROUP BY")
    if parsed.offset is not None:
        raise refuse("OFFSET")


def run(org: Org, query: str, *, include_deleted: bool, column_delimiter: str) -> tuple[str, list[str]]:
    """Run the query; answers the header line and one CSV line per record (no line endings)."""
    plan = soql.compile_query(query, org.schema, org.store, include_deleted=include_deleted,
                              api_version=org.api_version, now=org.clock.now())
    result = plan.run()
    columns = plan.columns
    header = bulk_csv.query_lines([columns], set(), column_delimiter)[0]
    root = org.schema.get(plan.object_name)
    datetime_columns = {index for index, column in enumerate(columns) if _is_datetime(org, root, column)}
    rows = (soql.flat_row(record, columns) for record in result.records)
    return header, bulk_csv.query_lines(rows, datetime_columns, column_delimiter)


def _is_datetime(org: Org, root: ObjectDef | None, column: str) -> bool:
    """Whether a flat column (``CreatedDate``, ``Account.CreatedDate``) holds a datetime field."""
    *relationships, field_name = column.split(".")
    current = root
    for relationship in relationships:
        lookup = current.parent_relationship(relationship) if current is not None else None
        current = org.schema.get(lookup.reference_to[0]) if lookup is not None and lookup.reference_to else None
    field_def = current.field(field_name) if current is not None else None
    return field_def is not None and field_def.type == "datetime"
