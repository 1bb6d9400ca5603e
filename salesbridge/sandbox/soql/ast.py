"""The parsed form of a SOQL query: plain data, no schema knowledge.

Every node that can be the subject of an error keeps its position (1-based row and column), because Salesforce
points at the offending token with a caret and ``ERROR at Row:R:Column:C``. Names are kept as written; the
evaluator resolves them against the schema (case-insensitively) and reports canonical spellings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Pos:
    """Where a token starts: row and column, both 1-based, as Salesforce reports them."""

    line: int
    column: int


@dataclass(frozen=True)
class FieldPath:
    """A dotted field reference: ``Name``, ``Account.Name``, ``Account.Owner.Email``."""

    parts: tuple[str, ...]
    pos: Pos

    @property
    def text(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class FunctionCall:
    """``COUNT(Id)``, ``COUNT()``, ``CALENDAR_YEAR(CreatedDate)``, ``toLabel(Status)``, ``FIELDS(ALL)``."""

    name: str
    argument: FieldPath | FunctionCall | None
    pos: Pos

    @property
    def upper_name(self) -> str:
        return self.name.upper()

    @property
    def text(self) -> str:
        inner = self.argument.text if self.argument is not None else ""
        return f"{self.name}({inner})"


Expression = FieldPath | FunctionCall


@dataclass(frozen=True)
class SelectField:
    """A field or function in the SELECT list, with its alias when one was given."""

    expression: Expression
    alias: str | None
    pos: Pos
    alias_pos: Pos | None = None


@dataclass(frozen=True)
class SelectSubquery:
    """A child relationship subquery: ``(SELECT LastName FROM Contacts)``."""

    query: Query
    pos: Pos


SelectItem = SelectField | SelectSubquery


@dataclass(frozen=True)
class Literal:
    """A value in a condition.

    ``kind`` is one of string, number, date, datetime, null, boolean, date_literal. ``value`` holds the decoded
    value: the unescaped text for strings (``raw`` keeps the text between the quotes, escapes included, which
    LIKE needs to tell ``\\%`` from ``%``), a float or int for numbers, the text for dates and datetimes, a bool,
    None, or ``(NAME, n)`` for relative date literals such as ``("LAST_N_DAYS", 30)``.
    """

    kind: str
    value: Any
    text: str
    pos: Pos
    raw: str = ""


@dataclass(frozen=True)
class Comparison:
    """``operand op value``: op is one of = != < <= > >= LIKE IN NOT IN INCLUDES EXCLUDES.

    For IN / NOT IN / INCLUDES / EXCLUDES ``value`` is a tuple of literals; for a semi-join or anti-join
    (``IN (SELECT ...)``) it is a Query.
    """

    operand: Expression
    operator: str
    value: Literal | tuple[Literal, ...] | Query
    pos: Pos


@dataclass(frozen=True)
class And:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    item: Condition


Condition = Comparison | And | Or | Not


@dataclass(frozen=True)
class OrderItem:
    expression: Expression
    descending: bool
    #: None when the query did not say: Salesforce puts nulls first ascending and last descending.
    nulls_first: bool | None

    @property
    def effective_nulls_first(self) -> bool:
        return (not self.descending) if self.nulls_first is None else self.nulls_first


@dataclass(frozen=True)
class Query:
    """One SELECT statement (the outer query, a child subquery or a semi-join's inner query)."""

    select: tuple[SelectItem, ...]
    object_name: str
    object_pos: Pos
    where: Condition | None = None
    with_clause: str | None = None
    group_by: tuple[Expression, ...] = ()
    having: Condition | None = None
    order_by: tuple[OrderItem, ...] = ()
    limit: int | None = None
    limit_pos: Pos | None = None
    offset: int | None = None
    offset_pos: Pos | None = None
    for_clause: tuple[str, ...] = ()
    #: Position of the comma after each select item but the last (for errors about the select list).
    select_commas: tuple[Pos, ...] = field(default=())
    pos: Pos = Pos(1, 1)

    @property
    def is_count_only(self) -> bool:
        """``SELECT COUNT() FROM ...``: the answer is a number (totalSize), not rows."""
        if len(self.select) != 1:
            return False
        item = self.select[0]
        return (isinstance(item, SelectField) and isinstance(item.expression, FunctionCall)
                and item.expression.upper_name == "COUNT" and item.expression.argument is None)
