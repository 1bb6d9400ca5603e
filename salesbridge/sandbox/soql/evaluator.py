"""SOQL evaluation over the record store: compile the AST against the schema once, then run it.

Compiling resolves every name (raising Salesforce's errors in query order), turns WHERE into closures, builds
sort keys and the output builder; running is then a filter, a sort, a slice and a projection over the stored
records, which keeps queries over 100,000 records well under a second. Three plans exist: records (with parent
fields and child subqueries), ``COUNT()`` (a number, no rows) and aggregates (AggregateResult rows).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from salesbridge.sandbox.schema import ObjectDef, Schema
from salesbridge.sandbox.soql import ast
from salesbridge.sandbox.soql.aggregates import AggregatePlan
from salesbridge.sandbox.soql.conditions import ConditionCompiler, Operand, Predicate
from salesbridge.sandbox.soql.errors import (
    bad_child_relationship,
    malformed,
    query_error,
    unsupported_object,
)
from salesbridge.sandbox.soql.functions import (
    AGGREGATES,
    DATETIME_ONLY,
    PASS_THROUGH,
    date_function,
    date_function_type,
    is_date_function,
)
from salesbridge.sandbox.soql.ordering import SortSpec, sort_rows
from salesbridge.sandbox.soql.parser import parse
from salesbridge.sandbox.soql.projection import Shape
from salesbridge.sandbox.soql.resolve import Context, RecordSource, ResolvedField, resolve_path
from salesbridge.sandbox.soql.values import DATE, DATETIME, ID, LiteralTyper, canonical_datetime

#: Salesforce refuses OFFSET above this (NUMBER_OUTSIDE_VALID_RANGE).
MAX_OFFSET = 2000
#: FIELDS(ALL) and FIELDS(CUSTOM) need a LIMIT of at most this.
FIELDS_LIMIT = 200


@dataclass
class QueryResult:
    """What a query answers: API-form records (or aggregate rows), the total and the queried object.

    ``columns`` are the flat column names in SELECT order (``Id``, ``Account.Name``, ``expr0``), as Bulk API
    query results name their CSV columns; child subqueries appear under their relationship name.
    """

    records: list[dict[str, Any]]
    total_size: int
    object_name: str
    columns: list[str] = field(default_factory=list)


def execute(query: str, schema: Schema, source: RecordSource, *, include_deleted: bool = False,
            api_version: str = "62.0", now: datetime | None = None) -> QueryResult:
    """Run ``query`` against ``source``; raises SandboxApiError (400) with Salesforce's codes on errors."""
    plan = compile_query(query, schema, source, include_deleted=include_deleted, api_version=api_version,
                         now=now)
    return plan.run()


def compile_query(query: str, schema: Schema, source: RecordSource, *, include_deleted: bool = False,
                  api_version: str = "62.0", now: datetime | None = None) -> Plan:
    """Parse and compile ``query`` without running it (its ``columns`` are known before any record is read)."""
    tree = parse(query)
    moment = now or datetime.now(UTC)
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    ctx = Context(schema, source, query, include_deleted, api_version, moment.date())
    return _Compiler(ctx).plan(tree)


class Plan:
    """A compiled query, ready to run any number of times."""

    object_name: str
    columns: list[str]

    def run(self) -> QueryResult:  # pragma: no cover - interface
        raise NotImplementedError


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a result is built.

    Building 100,000 result dicts makes the collector run over and over (it counts allocations) although
    nothing here creates reference cycles; pausing it makes large queries several times faster.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _slice(rows: list[Any], offset: int | None, limit: int | None) -> list[Any]:
    start = offset or 0
    if limit is None:
        return rows[start:] if start else rows
    return rows[start : start + limit]


class _RecordPlan(Plan):
    """Plain queries: filter, sort, slice, project (with nested parents and child subqueries)."""

    def __init__(self, ctx: Context, root: ObjectDef, where: Predicate | None, sort_specs: list[SortSpec],
                 offset: int | None, limit: int | None, shape: Shape | None, columns: list[str]) -> None:
        self._ctx = ctx
        self._root = root
        self._where = where
        self._sort_specs = sort_specs
        self._offset = offset
        self._limit = limit
        self._build = shape.builder() if shape is not None else None
        self._build_all = shape.list_builder() if shape is not None else None
        self.object_name = root.name
        self.columns = columns

    def matching(self) -> list[dict[str, Any]]:
        """Stored records that pass WHERE, in ORDER BY order (not sliced)."""
        records = self._ctx.source.records(self._root.name, self._ctx.include_deleted)
        if self._where is not None:
            where = self._where
            records = [record for record in records if where(record)]
        if self._sort_specs:
            records = sort_rows(records, self._sort_specs)
        return records

    def selected(self) -> list[dict[str, Any]]:
        return _slice(self.matching(), self._offset, self._limit)

    def project(self, record: dict[str, Any]) -> dict[str, Any]:
        assert self._build is not None
        return self._build(record)

    def run(self) -> QueryResult:
        self._ctx.memo.clear()
        assert self._build_all is not None
        with _gc_paused():
            records = self._build_all(self.selected())
        return QueryResult(records, len(records), self.object_name, self.columns)


class _CountPlan(_RecordPlan):
    """``SELECT COUNT() FROM X``: totalSize is the count, there are no records."""

    def run(self) -> QueryResult:
        self._ctx.memo.clear()
        with _gc_paused():
            total = len(self.selected())
        return QueryResult([], total, self.object_name, [])


class _AggregateQueryPlan(Plan):
    def __init__(self, ctx: Context, aggregate: AggregatePlan, object_name: str, offset: int | None,
                 limit: int | None) -> None:
        self._ctx = ctx
        self._aggregate = aggregate
        self._offset = offset
        self._limit = limit
        self.object_name = object_name
        self.columns = aggregate.columns

    def run(self) -> QueryResult:
        self._ctx.memo.clear()
        with _gc_paused():
            rows = _slice(self._aggregate.rows(), self._offset, self._limit)
            records = [self._aggregate.output(row) for row in rows]
        return QueryResult(records, len(records), self.object_name, self.columns)


class _Compiler:
    """Resolves one query tree against the schema and builds its plan."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._typer = LiteralTyper(ctx.query_text, ctx.today)

    # -- entry -------------------------------------------------------------------------------------
    def plan(self, query: ast.Query) -> Plan:
        root = self._object(query)
        self._check_offset(query)
        if query.is_count_only:
            if query.group_by:
                raise malformed(self._ctx.query_text, query.select[0].pos,
                                "COUNT() cannot be used with GROUP BY; use COUNT(fieldName)")
            where = self._where(query, root)
            for item in query.order_by:  # checked as Salesforce checks it, but a count needs no sorting
                self._sort_spec(item, root)
            return _CountPlan(self._ctx, root, where, [], query.offset, query.limit, None, [])
        if self._is_aggregate(query):
            aggregate = AggregatePlan(query, root, self._ctx, lambda expression: self._operand(expression, root),
                                      lambda expression: self._canonical(expression, root), self._typer)
            aggregate.where = self._where(query, root)
            return _AggregateQueryPlan(self._ctx, aggregate, root.name, query.offset, query.limit)
        return self._record_plan(query, root, allow_children=True)

    def _object(self, query: ast.Query) -> ObjectDef:
        root = self._ctx.schema.get(query.object_name)
        if root is None or not root.queryable:
            raise unsupported_object(self._ctx.query_text, query.object_pos, query.object_name)
        return root

    def _check_offset(self, query: ast.Query) -> None:
        if query.offset is not None and query.offset > MAX_OFFSET:
            raise query_error("NUMBER_OUTSIDE_VALID_RANGE", self._ctx.query_text, query.offset_pos,
                              f"Maximum SOQL offset allowed is {MAX_OFFSET}")

    @staticmethod
    def _is_aggregate(query: ast.Query) -> bool:
        if query.group_by:
            return True
        for item in query.select:
            if isinstance(item, ast.SelectField) and isinstance(item.expression, ast.FunctionCall):
                name = item.expression.upper_name
                if name in AGGREGATES or is_date_function(name):
                    return True
        return False

    # -- plain record queries ----------------------------------------------------------------------
    def _record_plan(self, query: ast.Query, root: ObjectDef, *, allow_children: bool) -> _RecordPlan:
        shape = Shape(self._ctx, root.name)
        columns: list[str] = []
        for item in query.select:
            if isinstance(item, ast.SelectSubquery):
                if not allow_children:
                    raise malformed(self._ctx.query_text, item.pos, "unexpected token: '('")
                key, results_for = self._child_subquery(item, root)
                shape.add_child(key, results_for, item.query.object_pos)
                columns.append(key)
                continue
            for resolved, key in self._select_fields(item, root, query):
                shape.add_field(resolved, key)
                columns.append(key or resolved.canonical)
        where = self._where(query, root)
        sort_specs = [self._sort_spec(item, root) for item in query.order_by]
        return _RecordPlan(self._ctx, root, where, sort_specs, query.offset, query.limit, shape, columns)

    def _select_fields(self, item: ast.SelectField, root: ObjectDef,
                       query: ast.Query) -> list[tuple[ResolvedField, str | None]]:
        """The fields one SELECT item stands for, with the output key when it differs from the field name."""
        expression = item.expression
        if isinstance(expression, ast.FieldPath):
            if item.alias:
                raise malformed(self._ctx.query_text, item.alias_pos, f"unexpected token: '{item.alias}'")
            return [(resolve_path(expression, root, self._ctx), None)]
        name = expression.upper_name
        if name == "FIELDS":
            return self._fields_macro(expression, root, query)
        if name in PASS_THROUGH and isinstance(expression.argument, ast.FieldPath):
            resolved = resolve_path(expression.argument, root, self._ctx)
            if item.alias and resolved.hops:
                raise malformed(self._ctx.query_text, item.alias_pos, f"unexpected token: '{item.alias}'")
            return [(resolved, item.alias)]
        raise malformed(self._ctx.query_text, expression.pos, f"unexpected token: '{expression.name}'")

    def _fields_macro(self, call: ast.FunctionCall, root: ObjectDef,
                      query: ast.Query) -> list[tuple[ResolvedField, str | None]]:
        """FIELDS(ALL | STANDARD | CUSTOM): every field of the object of that kind."""
        argument = call.argument
        which = argument.text.upper() if isinstance(argument, ast.FieldPath) else ""
        if which not in ("ALL", "STANDARD", "CUSTOM"):
            raise malformed(self._ctx.query_text, call.pos, f"unexpected token: '{argument.text if argument else ')'}'")
        if which != "STANDARD" and (query.limit is None or query.limit > FIELDS_LIMIT):
            raise malformed(self._ctx.query_text, call.pos,
                            f"The SOQL FIELDS function must have a LIMIT of at most {FIELDS_LIMIT}")
        chosen = [field_def for field_def in root.fields.values()
                  if which == "ALL" or field_def.custom == (which == "CUSTOM")]
        return [(resolve_path(ast.FieldPath((field_def.name,), call.pos), root, self._ctx), None)
                for field_def in chosen]

    def _child_subquery(self, item: ast.SelectSubquery,
                        parent: ObjectDef) -> tuple[str, Callable[[str], dict[str, Any] | None]]:
        """A child relationship subquery: its output key and a per-parent result function."""
        subquery = item.query
        relationship = self._ctx.schema.child_relationship(parent.name, subquery.object_name)
        if relationship is None:
            raise bad_child_relationship(self._ctx.query_text, subquery.object_pos, subquery.object_name)
        child = self._ctx.schema.get(relationship.child_object)
        if child is None:  # pragma: no cover - the schema derived the relationship from this object
            raise bad_child_relationship(self._ctx.query_text, subquery.object_pos, subquery.object_name)
        if subquery.group_by or self._is_aggregate(subquery) or subquery.is_count_only:
            raise malformed(self._ctx.query_text, subquery.pos, "aggregate functions are not allowed in subqueries")
        self._check_offset(subquery)
        plan = self._record_plan(subquery, child, allow_children=False)
        lookup = relationship.field
        offset, limit = subquery.offset, subquery.limit
        ctx = self._ctx
        key = object()

        def build_index() -> dict[str, list[dict[str, Any]]]:
            index: dict[str, list[dict[str, Any]]] = {}
            for record in plan.matching():
                index.setdefault(record.get(lookup), []).append(record)
            return index

        def results_for(parent_id: str) -> dict[str, Any] | None:
            index = ctx.remember(key, build_index)
            children = _slice(index.get(parent_id, []), offset, limit)
            if not children:
                return None
            return {"totalSize": len(children), "done": True, "records": [plan.project(c) for c in children]}

        return relationship.relationship_name, results_for

    # -- WHERE -------------------------------------------------------------------------------------
    def _where(self, query: ast.Query, root: ObjectDef) -> Predicate | None:
        if query.where is None:
            return None
        compiler = ConditionCompiler(self._ctx.query_text, self._typer,
                                     lambda expression: self._operand(expression, root), self._semi_join)
        return compiler.compile(query.where)

    def _operand(self, expression: ast.Expression, root: ObjectDef) -> Operand:
        """A field path, a date function of one, or a value wrapper such as toLabel(), as a comparable operand."""
        if isinstance(expression, ast.FieldPath):
            resolved = resolve_path(expression, root, self._ctx)
            return Operand(resolved.get, resolved.kind, resolved.describe_type, resolved.name, resolved.pos,
                           resolved.filterable, resolved.own_field, tuple(resolved.picklist_values))
        name = expression.upper_name
        argument = expression.argument
        if name in PASS_THROUGH and isinstance(argument, ast.FieldPath):
            return self._operand(argument, root)
        if is_date_function(name) and isinstance(argument, ast.FieldPath):
            resolved = resolve_path(argument, root, self._ctx)
            wanted = (DATETIME,) if name in DATETIME_ONLY else (DATE, DATETIME)
            if resolved.kind not in wanted:
                raise query_error("INVALID_FIELD", self._ctx.query_text, expression.pos,
                                  f"{expression.name} can not be used with field {resolved.name}")
            read = resolved.get
            if resolved.kind == DATETIME:
                plain_read = read

                def read(record: dict[str, Any]) -> Any:
                    return canonical_datetime(plain_read(record))

            get, kind = date_function(name, read)
            return Operand(get, kind, date_function_type(kind), expression.text, expression.pos)
        raise malformed(self._ctx.query_text, expression.pos, f"unexpected token: '{expression.name}'")

    def _canonical(self, expression: ast.Expression, root: ObjectDef) -> str:
        """The canonical text of a field path (or of a function's field) for matching GROUP BY items."""
        target = expression
        while isinstance(target, ast.FunctionCall) and target.argument is not None:
            target = target.argument
        if isinstance(target, ast.FieldPath):
            return resolve_path(target, root, self._ctx).canonical
        return target.text

    def _semi_join(self, subquery: ast.Query, operand: Operand) -> Callable[[], frozenset[str]]:
        """The ids an ``IN (SELECT ...)`` semi-join or anti-join compares with (read when the query runs)."""
        inner = self._object(subquery)
        fields = [item for item in subquery.select if isinstance(item, ast.SelectField)]
        if len(subquery.select) != 1 or len(fields) != 1 or not isinstance(fields[0].expression, ast.FieldPath):
            raise malformed(self._ctx.query_text, subquery.pos,
                            "semi join sub-selects can only select one Id or reference field")
        selected = resolve_path(fields[0].expression, inner, self._ctx)
        if selected.kind != ID:
            raise query_error("INVALID_FIELD", self._ctx.query_text, selected.pos,
                              f"semi join sub-selects can only select Id or reference fields, not '{selected.name}'")
        plan = self._record_plan(subquery, inner, allow_children=False)
        get = selected.get
        ctx = self._ctx
        key = object()

        def read_ids() -> frozenset[str]:
            return frozenset(value for record in plan.selected() if (value := get(record)))

        return lambda: ctx.remember(key, read_ids)

    # -- ORDER BY ----------------------------------------------------------------------------------
    def _sort_spec(self, item: ast.OrderItem, root: ObjectDef) -> SortSpec:
        expression = item.expression
        if isinstance(expression, ast.FunctionCall) and expression.upper_name in PASS_THROUGH \
                and isinstance(expression.argument, ast.FieldPath):
            expression = expression.argument
        if not isinstance(expression, ast.FieldPath):
            raise malformed(self._ctx.query_text, expression.pos, f"unexpected token: '{expression.name}'")
        resolved = resolve_path(expression, root, self._ctx)
        if not resolved.sortable:
            raise query_error("INVALID_FIELD", self._ctx.query_text, resolved.pos,
                              f"field '{resolved.name}' can not be sorted in a query call")
        return SortSpec(resolved.get, resolved.kind, item.descending, item.effective_nulls_first,
                        tuple(resolved.picklist_values), resolved.own_field)
