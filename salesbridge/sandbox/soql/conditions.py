"""WHERE and HAVING conditions compiled once into Python closures, then run per record (or per group).

Compiling first means type checks, literal conversion, regex building and semi-join sub-queries happen once per
query, and the per-record work is a few dict lookups and comparisons. SOQL semantics kept here:

- ``=`` / ``!=`` treat null as a value: ``Industry != 'Tech'`` also returns records with no Industry, while
  NOT IN (values or anti-join) leaves them out; ordering operators never match null; on a boolean field null
  means false.
- Text compares case-insensitively (LIKE too); ids compare exactly (15-character literals are widened to 18).
- A relative date literal is a day range: ``=`` means inside it, ``<`` before it, ``>`` after it.
- INCLUDES / EXCLUDES test multi-select picklists; ``'a;b'`` inside them means both a and b.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from salesbridge.sandbox.soql import ast
from salesbridge.sandbox.soql.errors import query_error
from salesbridge.sandbox.soql.parser import like_pattern
from salesbridge.sandbox.soql.values import (
    BOOLEAN,
    DATE,
    DATETIME,
    ID,
    MULTI,
    NORMALIZERS,
    TEXT,
    LiteralTyper,
    Range,
    canonical_datetime,
    type_word,
)

Predicate = Callable[[Any], bool]

_ORDERING = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


@dataclass
class Operand:
    """The left side of a comparison: how to read it from a row and how it compares."""

    get: Callable[[Any], Any]
    kind: str
    describe_type: str
    name: str
    pos: ast.Pos
    filterable: bool = True
    #: Set when the operand is a field of the row itself: predicates then read it without a getter call.
    field_name: str | None = None
    #: A picklist's values in their defined order (ORDER BY sorts picklists that way).
    picklist_values: tuple[str, ...] = ()


OperandResolver = Callable[[ast.Expression], Operand]
#: Compiles a semi-join's inner query; the returned function gives its ids (read once per run).
SemiJoinRunner = Callable[[ast.Query, Operand], Callable[[], frozenset[str]]]


class ConditionCompiler:
    """Compiles a condition tree; the caller says how operands resolve (fields for WHERE, groups for HAVING)."""

    def __init__(self, query_text: str, typer: LiteralTyper, resolve_operand: OperandResolver,
                 run_semi_join: SemiJoinRunner | None = None) -> None:
        self._query = query_text
        self._typer = typer
        self._resolve = resolve_operand
        self._semi_join = run_semi_join

    def compile(self, condition: ast.Condition) -> Predicate:
        if isinstance(condition, ast.And):
            return _all([self.compile(item) for item in condition.items])
        if isinstance(condition, ast.Or):
            return _any([self.compile(item) for item in condition.items])
        if isinstance(condition, ast.Not):
            inner = self.compile(condition.item)
            return lambda row: not inner(row)
        return self._comparison(condition)

    # -- one comparison ----------------------------------------------------------------------------
    def _comparison(self, comparison: ast.Comparison) -> Predicate:
        operand = self._resolve(comparison.operand)
        if not operand.filterable:
            raise query_error("INVALID_FIELD", self._query, operand.pos,
                              f"field '{operand.name}' can not be filtered in query call")
        op = comparison.operator
        if isinstance(comparison.value, ast.Query):
            return self._join(comparison, operand)
        if op in ("INCLUDES", "EXCLUDES"):
            return self._includes(comparison, operand)
        if op == "LIKE":
            return self._like(comparison, operand)
        if operand.kind == MULTI and op in _ORDERING:
            raise query_error("INVALID_QUERY_FILTER_OPERATOR", self._query, operand.pos,
                              "invalid operator on multipicklist field")
        if operand.kind == BOOLEAN and op in _ORDERING:
            raise query_error("INVALID_QUERY_FILTER_OPERATOR", self._query, operand.pos,
                              "invalid operator on boolean field")
        if op in ("IN", "NOT IN"):
            assert isinstance(comparison.value, tuple)
            values = [self._coerce(literal, operand) for literal in comparison.value]
            matches = self._in(operand, values)
            if op == "IN":
                return matches
            # Unlike !=, NOT IN leaves out rows whose value is null.
            read = value_reader(operand)
            return lambda row: read(row) is not None and not matches(row)
        assert isinstance(comparison.value, ast.Literal)
        value = self._coerce(comparison.value, operand)
        if op == "=":
            return _equals(operand, value)
        if op == "!=":
            equal = _equals(operand, value)
            return lambda row: not equal(row)
        return _ordering(operand, op, value)

    def _coerce(self, literal: ast.Literal, operand: Operand) -> Any:
        return self._typer.coerce(literal, operand.kind, operand.describe_type, operand.name)

    def _in(self, operand: Operand, values: list[Any]) -> Predicate:
        if any(isinstance(value, Range) for value in values):
            return _any([_equals(operand, value) for value in values])
        read = value_reader(operand)
        members = frozenset(values)
        return lambda row: read(row) in members

    def _like(self, comparison: ast.Comparison, operand: Operand) -> Predicate:
        literal = comparison.value
        assert isinstance(literal, ast.Literal)
        if operand.kind != TEXT:  # "The LIKE operator is supported for string fields only."
            word = type_word(operand.kind, operand.describe_type)
            raise query_error("INVALID_QUERY_FILTER_OPERATOR", self._query, operand.pos,
                              f"invalid operator on {word} field")
        if literal.kind == "null":
            return lambda row: False
        if literal.kind != "string":
            raise self._typer.mismatch(literal, TEXT, "string", operand.name)
        match = like_pattern(literal.raw).fullmatch
        get = operand.get

        def like(row: Any) -> bool:
            value = get(row)
            return value is not None and match(value if isinstance(value, str) else str(value)) is not None

        return like

    def _includes(self, comparison: ast.Comparison, operand: Operand) -> Predicate:
        if operand.kind != MULTI:
            raise query_error("INVALID_QUERY_FILTER_OPERATOR", self._query, operand.pos,
                              "includes or excludes operator only valid on multipicklist field")
        assert isinstance(comparison.value, tuple)
        wanted = [self._coerce(literal, operand) for literal in comparison.value]
        wanted_sets = [value for value in wanted if value]
        get, normalize = operand.get, NORMALIZERS[MULTI]

        def includes(row: Any) -> bool:
            values = normalize(get(row))
            return values is not None and any(required <= values for required in wanted_sets)

        if comparison.operator == "INCLUDES":
            return includes
        return lambda row: not includes(row)

    def _join(self, comparison: ast.Comparison, operand: Operand) -> Predicate:
        if self._semi_join is None:
            raise query_error("MALFORMED_QUERY", self._query, operand.pos, "semi join sub-selects are not allowed here")
        if operand.kind != ID:
            raise query_error("INVALID_FIELD", self._query, operand.pos,
                              f"semi join sub-selects are only allowed on Id or reference fields, not '{operand.name}'")
        assert isinstance(comparison.value, ast.Query)
        members = self._semi_join(comparison.value, operand)
        get = operand.get
        if comparison.operator == "IN":
            return lambda row: get(row) in members()
        return lambda row: (value := get(row)) is not None and value not in members()


def value_reader(operand: Operand) -> Callable[[Any], Any]:
    """A function giving an operand's normalised value for a row, with fast paths for the row's own fields."""
    normalize = NORMALIZERS[operand.kind]
    name = operand.field_name
    if name is None:
        get = operand.get
        return lambda row: normalize(get(row))
    if operand.kind in (ID, DATE):
        return lambda row: row.get(name) or None
    if operand.kind == DATETIME:
        def read_datetime(row: Any) -> Any:
            value = row.get(name)
            if value and len(value) == 28 and value[-5:] == "+0000":
                return value
            return canonical_datetime(value)

        return read_datetime
    if operand.kind == TEXT:
        def read_text(row: Any) -> Any:
            value = row.get(name)
            return value.lower() if value.__class__ is str and value else normalize(value)

        return read_text
    return lambda row: normalize(row.get(name))


def _equals(operand: Operand, value: Any) -> Predicate:
    read = value_reader(operand)
    if isinstance(value, Range):
        start, end = value.start, value.end

        def in_range(row: Any) -> bool:
            current = read(row)
            return current is not None and start <= current < end

        return in_range
    return lambda row: read(row) == value


def _ordering(operand: Operand, op: str, value: Any) -> Predicate:
    if isinstance(value, Range):
        # Before the range, up to its end, after it, from its start.
        bound, compare = {"<": (value.start, operator.lt), "<=": (value.end, operator.lt),
                          ">": (value.end, operator.ge), ">=": (value.start, operator.ge)}[op]
    else:
        bound, compare = value, _ORDERING[op]
    if bound is None:
        return lambda row: False
    name = operand.field_name
    if name is not None and operand.kind == DATETIME:
        # The hottest path (SystemModstamp watermarks): one call per row, stored values are canonical.
        def ordered_datetime(row: Any) -> bool:
            current = row.get(name)
            if not current:
                return False
            if len(current) != 28 or current[-5:] != "+0000":
                current = canonical_datetime(current)
            return current is not None and compare(current, bound)

        return ordered_datetime
    read = value_reader(operand)

    def ordered(row: Any) -> bool:
        current = read(row)
        return current is not None and compare(current, bound)

    return ordered


def _all(predicates: list[Predicate]) -> Predicate:
    if len(predicates) == 2:
        first, second = predicates
        return lambda row: first(row) and second(row)
    return lambda row: all(predicate(row) for predicate in predicates)


def _any(predicates: list[Predicate]) -> Predicate:
    if len(predicates) == 2:
        first, second = predicates
        return lambda row: first(row) or second(row)
    return lambda row: any(predicate(row) for predicate in predicates)
