"""Aggregate queries: GROUP BY, COUNT/COUNT_DISTINCT/SUM/AVG/MIN/MAX, HAVING, and AggregateResult rows.

Each group becomes a row dict keyed by an expression's normalised text (``industry``, ``count(id)``,
``calendar_year(createddate)``); HAVING and ORDER BY read the same keys, so an aggregate used only in HAVING is
computed like one in the SELECT list. Output rows are flat, typed ``AggregateResult``, keyed by alias, by the
field's name for grouped fields, or ``expr0``, ``expr1`` ... for unaliased functions, as Salesforce numbers them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from salesbridge.sandbox.schema import ObjectDef
from salesbridge.sandbox.soql import ast
from salesbridge.sandbox.soql.conditions import ConditionCompiler, Operand, Predicate
from salesbridge.sandbox.soql.errors import malformed, query_error
from salesbridge.sandbox.soql.functions import AGGREGATES, PASS_THROUGH, is_date_function
from salesbridge.sandbox.soql.ordering import SortSpec, sort_rows
from salesbridge.sandbox.soql.resolve import Context
from salesbridge.sandbox.soql.values import BOOLEAN, MULTI, NORMALIZERS, NUMBER, LiteralTyper

#: Resolves a field path or date function against the queried object (shared with the record evaluator).
ExpressionResolver = Callable[[ast.Expression], Operand]


@dataclass
class _Group:
    key: str
    operand: Operand
    #: The output name of a grouped field (its field name); None for date functions (they take exprN).
    field_name: str | None


@dataclass
class _Aggregate:
    key: str
    function: str
    operand: Operand | None

    @property
    def result_kind(self) -> str:
        if self.function in ("MIN", "MAX") and self.operand is not None:
            return self.operand.kind
        return NUMBER

    @property
    def result_type(self) -> str:
        if self.function in ("MIN", "MAX") and self.operand is not None:
            return self.operand.describe_type
        return "int" if self.function in ("COUNT", "COUNT_DISTINCT") else "double"

    def compute(self, records: list[dict[str, Any]]) -> Any:
        if self.operand is None:
            return len(records)
        get = self.operand.get
        present = [value for record in records if (value := get(record)) is not None and value != ""]
        function = self.function
        if function == "COUNT":
            return len(present)
        normalize = NORMALIZERS[self.operand.kind]
        if function == "COUNT_DISTINCT":
            return len({normalize(value) for value in present})
        if not present:
            return None
        if function in ("MIN", "MAX"):
            choose = min if function == "MIN" else max
            return choose(present, key=normalize)
        numbers = [normalize(value) for value in present]
        total = sum(numbers)
        if function == "SUM":
            return total if self.operand.describe_type == "int" else float(total)
        return total / len(numbers)


def expression_key(expression: ast.Expression, canonical: str) -> str:
    if isinstance(expression, ast.FunctionCall):
        return f"{expression.upper_name}({canonical.lower()})"
    return canonical.lower()


class AggregatePlan:
    """A compiled aggregate query; ``run`` answers its AggregateResult rows."""

    def __init__(self, query: ast.Query, root: ObjectDef, ctx: Context, resolve: ExpressionResolver,
                 canonical_of: Callable[[ast.Expression], str], typer: LiteralTyper) -> None:
        self._query = query
        self._root = root
        self._ctx = ctx
        #: Set by the compiler after the SELECT list is checked (Salesforce reports SELECT errors first).
        self.where: Predicate | None = None
        self._resolve = resolve
        self._canonical_of = canonical_of
        self._groups: list[_Group] = [self._group(expression) for expression in query.group_by]
        self._group_keys = {group.key for group in self._groups}
        self._aggregates: dict[str, _Aggregate] = {}
        self._outputs: list[tuple[str, str]] = self._select_outputs()
        self._having = None
        if query.having is not None:
            self._having = ConditionCompiler(ctx.query_text, typer, self._row_operand).compile(query.having)
        self._sort_specs = [self._sort_spec(item) for item in query.order_by]

    @property
    def columns(self) -> list[str]:
        return [output_key for output_key, _ in self._outputs]

    # -- compile -----------------------------------------------------------------------------------
    def _group(self, expression: ast.Expression) -> _Group:
        if isinstance(expression, ast.FunctionCall) and expression.upper_name in AGGREGATES:
            raise malformed(self._ctx.query_text, expression.pos,
                            f"Cannot group by aggregated field: {expression.text}")
        operand = self._resolve(expression)
        field_name = None if isinstance(expression, ast.FunctionCall) and is_date_function(expression.name) \
            else operand.name
        return _Group(expression_key(expression, self._canonical_of(expression)), operand, field_name)

    def _aggregate(self, call: ast.FunctionCall) -> _Aggregate:
        function = call.upper_name
        if call.argument is None:
            if function != "COUNT":
                raise malformed(self._ctx.query_text, call.pos, f"unexpected token: '{call.name}'")
            raise malformed(self._ctx.query_text, call.pos,
                            "COUNT() cannot be used with GROUP BY or other fields; use COUNT(fieldName)")
        if isinstance(call.argument, ast.FunctionCall) and call.argument.upper_name in AGGREGATES:
            raise malformed(self._ctx.query_text, call.argument.pos, f"unexpected token: '{call.argument.name}'")
        operand = self._resolve(call.argument)
        allowed = {"SUM": operand.kind == NUMBER, "AVG": operand.kind == NUMBER,
                   "MIN": operand.kind not in (BOOLEAN, MULTI), "MAX": operand.kind not in (BOOLEAN, MULTI)}
        if not allowed.get(function, True):
            raise query_error("INVALID_FIELD", self._ctx.query_text, call.pos,
                              f"field {operand.name} does not support aggregate operator {function}")
        key = expression_key(call, self._canonical_of(call.argument))
        return self._aggregates.setdefault(key, _Aggregate(key, function, operand))

    def _select_outputs(self) -> list[tuple[str, str]]:
        outputs: list[tuple[str, str]] = []
        expr_index = 0
        for item in self._query.select:
            if isinstance(item, ast.SelectSubquery):
                raise malformed(self._ctx.query_text, item.pos, "unexpected token: '('")
            expression = item.expression
            if isinstance(expression, ast.FunctionCall) and expression.upper_name in AGGREGATES:
                key = self._aggregate(expression).key
                named_by_field = None
            else:
                key, named_by_field = self._grouped_key(expression)
            if item.alias:
                output_key = item.alias
            elif named_by_field:
                output_key = named_by_field
            else:
                output_key = f"expr{expr_index}"
                expr_index += 1
            if any(existing.lower() == output_key.lower() for existing, _ in outputs):
                raise malformed(self._ctx.query_text, item.pos, f"duplicate alias: {output_key}")
            outputs.append((output_key, key))
        return outputs

    def _grouped_key(self, expression: ast.Expression) -> tuple[str, str | None]:
        """The row key of a grouped expression and its output name; refuses what is not grouped."""
        target = expression
        if isinstance(expression, ast.FunctionCall) and expression.upper_name in PASS_THROUGH \
                and expression.argument is not None:
            target = expression.argument
        if isinstance(target, ast.FunctionCall) and not is_date_function(target.name):
            raise malformed(self._ctx.query_text, target.pos, f"unexpected token: '{target.name}'")
        operand = self._resolve(target)  # validates the field itself first, as Salesforce does
        key = expression_key(target, self._canonical_of(target))
        if key not in self._group_keys:
            raise malformed(self._ctx.query_text, target.pos, f"Field must be grouped or aggregated: {operand.name}")
        group = next(group for group in self._groups if group.key == key)
        return key, group.field_name

    def _row_operand(self, expression: ast.Expression) -> Operand:
        """An operand of HAVING / ORDER BY, read from a group row."""
        picklist: tuple[str, ...] = ()
        if isinstance(expression, ast.FunctionCall) and expression.upper_name in AGGREGATES:
            aggregate = self._aggregate(expression)
            key, kind, describe_type = aggregate.key, aggregate.result_kind, aggregate.result_type
            name = expression.text
        else:
            key, _ = self._grouped_key(expression)
            group = next(group for group in self._groups if group.key == key)
            kind, describe_type, name = group.operand.kind, group.operand.describe_type, group.operand.name
            picklist = group.operand.picklist_values
        return Operand(lambda row: row.get(key), kind, describe_type, name, expression.pos, field_name=key,
                       picklist_values=picklist)

    def _sort_spec(self, item: ast.OrderItem) -> SortSpec:
        operand = self._row_operand(item.expression)
        return SortSpec(operand.get, operand.kind, item.descending, item.effective_nulls_first,
                        operand.picklist_values, operand.field_name)

    # -- run ---------------------------------------------------------------------------------------
    def rows(self) -> list[dict[str, Any]]:
        records = self._ctx.source.records(self._root.name, self._ctx.include_deleted)
        if self.where is not None:
            where = self.where
            records = [record for record in records if where(record)]
        groups: dict[tuple, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
        if self._groups:
            keys = [group.key for group in self._groups]
            getters = [group.operand.get for group in self._groups]
            normalizers = [NORMALIZERS[group.operand.kind] for group in self._groups]
            for record in records:
                values = [get(record) for get in getters]
                identity = tuple(normalize(value) for normalize, value in zip(normalizers, values, strict=True))
                entry = groups.get(identity)
                if entry is None:
                    first_values = {key: (value if value != "" else None)
                                    for key, value in zip(keys, values, strict=True)}
                    groups[identity] = (first_values, [record])
                else:
                    entry[1].append(record)
        else:
            groups[()] = ({}, records)
        rows: list[dict[str, Any]] = []
        for values, members in groups.values():
            row = dict(values)
            for aggregate in self._aggregates.values():
                row[aggregate.key] = aggregate.compute(members)
            rows.append(row)
        if self._having is not None:
            having = self._having
            rows = [row for row in rows if having(row)]
        if self._sort_specs:
            rows = sort_rows(rows, self._sort_specs)
        return rows

    def output(self, row: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"attributes": {"type": "AggregateResult"}}
        for output_key, key in self._outputs:
            out[output_key] = row.get(key)
        return out
