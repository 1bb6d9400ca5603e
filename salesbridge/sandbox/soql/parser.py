"""Text to AST: the Lark LALR parser for ``grammar.lark`` and the transformer that builds ``ast`` nodes.

The Lark parser is built once per process (building it is the slow part); parsed queries are cached by their
text because clients repeat the same queries (paging, polling). Syntax errors become MALFORMED_QUERY with
Salesforce's caret message.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from typing import Any

from lark import Lark, Token, Transformer, UnexpectedCharacters, UnexpectedInput, UnexpectedToken
from lark.exceptions import VisitError

from salesbridge.salesforce.datetimes import format_datetime, parse_date, parse_datetime
from salesbridge.sandbox.soql import ast
from salesbridge.sandbox.soql.errors import malformed

#: SOQL string escapes (``\\_`` and ``\\%`` are only meaningful to LIKE; elsewhere they stand for themselves).
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\",
            "_": "_", "%": "%"}
_UNICODE_ESCAPE = re.compile(r"u[0-9a-fA-F]{4}")


#: SOQL's reserved words: never names, even where the grammar would take a name (GROUP and ORDER are left out
#: because Group and Order are objects). The contextual lexer would otherwise read ``SELECT FROM x`` as a field.
RESERVED_WORDS = frozenset({"AND", "ASC", "DESC", "EXCLUDES", "FIRST", "FROM", "HAVING", "IN", "INCLUDES", "LAST",
                            "LIKE", "LIMIT", "NOT", "NULL", "NULLS", "OR", "SELECT", "WHERE", "WITH"})
_WITH_OPTIONS = frozenset({"SECURITY_ENFORCED", "USER_MODE", "SYSTEM_MODE"})
_FOR_OPTIONS = frozenset({"VIEW", "REFERENCE", "UPDATE"})
_WORD = re.compile(r"[A-Za-z0-9_:]+")


class _ReservedWord(Exception):
    def __init__(self, token: Token) -> None:
        super().__init__(str(token))
        self.token = token


def _refuse_reserved(token: Token) -> Token:
    if token.upper() in RESERVED_WORDS:
        raise _ReservedWord(token)
    return token


@lru_cache(maxsize=1)
def _lark() -> Lark:
    grammar = resources.files("salesbridge.sandbox.soql").joinpath("grammar.lark").read_text(encoding="utf-8")
    return Lark(grammar, parser="lalr", lexer="contextual", maybe_placeholders=False,
                lexer_callbacks={"NAME": _refuse_reserved})


def parse(query: str) -> ast.Query:
    """The AST of ``query``; raises SandboxApiError MALFORMED_QUERY for syntax errors."""
    return _parse_cached(query)


@lru_cache(maxsize=512)
def _parse_cached(query: str) -> ast.Query:
    try:
        tree = _lark().parse(query)
    except UnexpectedToken as error:
        raise _token_error(query, error) from None
    except _ReservedWord as error:
        raise malformed(query, _pos(error.token), f"unexpected token: '{error.token}'") from None
    except UnexpectedCharacters as error:
        pos = ast.Pos(error.line, error.column)
        word = _WORD.match(query, error.pos_in_stream)
        if word is not None:  # a word the grammar cannot take here, e.g. a misspelt date literal
            raise malformed(query, pos, f"unexpected token: '{word.group()}'") from None
        raise malformed(query, pos, f"no viable alternative at character '{error.char}'") from None
    except UnexpectedInput as error:  # pragma: no cover - other Lark errors (LALR raises the two above)
        raise malformed(query, _end_pos(query), f"unexpected token: '{error}'") from None
    try:
        return _ToAst(query).transform(tree)
    except VisitError as error:  # Lark wraps what a transformer method raises
        raise error.orig_exc from None


def _token_error(query: str, error: UnexpectedToken) -> Exception:
    token = error.token
    if token.type == "$END":
        return malformed(query, _end_pos(query), "unexpected token: '<EOF>'")
    return malformed(query, ast.Pos(token.line, token.column), f"unexpected token: '{token}'")


def _end_pos(query: str) -> ast.Pos:
    """The position just after the last non-blank character (where Salesforce points for a truncated query)."""
    text = query.rstrip()
    lines = text.split("\n")
    return ast.Pos(len(lines), len(lines[-1]) + 1)


def _pos(token: Token) -> ast.Pos:
    return ast.Pos(token.line or 1, token.column or 1)


def decode_string(query: str, token: Token) -> str:
    """The value of a quoted SOQL string literal, escapes decoded; MALFORMED_QUERY for unknown escapes."""
    body = token[1:-1]
    out: list[str] = []
    index = 0
    while index < len(body):
        char = body[index]
        if char != "\\":
            out.append(char)
            index += 1
            continue
        following = body[index + 1] if index + 1 < len(body) else ""
        if following.lower() in _ESCAPES:
            out.append(_ESCAPES[following.lower()])
            index += 2
        elif _UNICODE_ESCAPE.match(body, index + 1):
            out.append(chr(int(body[index + 2 : index + 6], 16)))
            index += 6
        else:
            reason = (f"Invalid string literal '{body}'. Illegal character sequence '\\{following}' in string "
                      "literal.")
            raise malformed(query, _pos(token), reason)
    return "".join(out)


def like_pattern(raw: str) -> re.Pattern[str]:
    """A regex for a LIKE pattern body: ``%`` any run, ``_`` one character, escapes literal, case-insensitive."""
    parts: list[str] = []
    index = 0
    while index < len(raw):
        char = raw[index]
        if char == "\\" and index + 1 < len(raw):
            following = raw[index + 1]
            if _UNICODE_ESCAPE.match(raw, index + 1):
                parts.append(re.escape(chr(int(raw[index + 2 : index + 6], 16))))
                index += 6
                continue
            parts.append(re.escape(_ESCAPES.get(following.lower(), following)))
            index += 2
            continue
        if char == "%":
            parts.append(".*")
        elif char == "_":
            parts.append(".")
        else:
            parts.append(re.escape(char))
        index += 1
    return re.compile("".join(parts), re.IGNORECASE | re.DOTALL)


class _ToAst(Transformer):
    """Builds ``ast`` nodes from the Lark tree; each method receives the rule's children."""

    def __init__(self, query: str) -> None:
        super().__init__()
        self._query = query

    # -- query and clauses -------------------------------------------------------------------------
    def start(self, children: list[Any]) -> ast.Query:
        return children[0]

    def query(self, children: list[Any]) -> ast.Query:
        parts: dict[str, Any] = {}
        for kind, *payload in children:
            parts[kind] = payload
        select_items, commas, select_pos = parts["select"]
        object_name, object_pos = parts["from"]
        limit, limit_pos = parts.get("limit", (None, None))
        offset, offset_pos = parts.get("offset", (None, None))
        return ast.Query(
            select=tuple(select_items), select_commas=tuple(commas), pos=select_pos,
            object_name=object_name, object_pos=object_pos,
            where=parts.get("where", [None])[0],
            with_clause=parts.get("with", [None])[0],
            group_by=tuple(parts.get("group_by", [()])[0]),
            having=parts.get("having", [None])[0],
            order_by=tuple(parts.get("order_by", [()])[0]),
            limit=limit, limit_pos=limit_pos, offset=offset, offset_pos=offset_pos,
            for_clause=tuple(parts.get("for", [()])[0]),
        )

    def select_clause(self, children: list[Any]) -> tuple:
        items = [child for child in children if not isinstance(child, Token)]
        commas = [_pos(child) for child in children if isinstance(child, Token) and child.type == "COMMA"]
        return ("select", items, commas, _pos(children[0]))

    def select_field(self, children: list[Any]) -> ast.SelectField:
        expression = children[0]
        alias = children[1] if len(children) > 1 else None
        return ast.SelectField(expression, str(alias) if alias else None, expression.pos,
                               _pos(alias) if alias else None)

    select_function = select_field

    def select_subquery(self, children: list[Any]) -> ast.SelectSubquery:
        return ast.SelectSubquery(children[1], _pos(children[0]))

    def function_call(self, children: list[Any]) -> ast.FunctionCall:
        name = children[0]
        arguments = [child for child in children[1:] if not isinstance(child, Token)]
        return ast.FunctionCall(str(name), arguments[0] if arguments else None, _pos(name))

    def field_path(self, children: list[Token]) -> ast.FieldPath:
        names = [child for child in children if child.type == "NAME"]
        return ast.FieldPath(tuple(str(name) for name in names), _pos(names[0]))

    def from_clause(self, children: list[Token]) -> tuple:
        return ("from", str(children[1]), _pos(children[1]))

    def where_clause(self, children: list[Any]) -> tuple:
        return ("where", children[1])

    def having_clause(self, children: list[Any]) -> tuple:
        return ("having", children[1])

    def with_clause(self, children: list[Token]) -> tuple:
        option = children[1]
        if option.upper() not in _WITH_OPTIONS:
            raise malformed(self._query, _pos(option), f"unexpected token: '{option}'")
        return ("with", option.upper())

    def group_by_clause(self, children: list[Any]) -> tuple:
        return ("group_by", [child for child in children if not isinstance(child, Token)])

    def order_by_clause(self, children: list[Any]) -> tuple:
        return ("order_by", [child for child in children if isinstance(child, ast.OrderItem)])

    def order_item(self, children: list[Any]) -> ast.OrderItem:
        words = {str(child).upper() for child in children[1:]}
        nulls_first: bool | None = None
        if "NULLS" in words:
            nulls_first = "FIRST" in words
        return ast.OrderItem(children[0], "DESC" in words, nulls_first)

    def limit_clause(self, children: list[Token]) -> tuple:
        return ("limit", int(children[1]), _pos(children[1]))

    def offset_clause(self, children: list[Token]) -> tuple:
        return ("offset", int(children[1]), _pos(children[1]))

    def for_clause(self, children: list[Token]) -> tuple:
        options = [child for child in children[1:] if child.type == "NAME"]
        for option in options:
            if option.upper() not in _FOR_OPTIONS:
                raise malformed(self._query, _pos(option), f"unexpected token: '{option}'")
        return ("for", [option.upper() for option in options])

    # -- conditions --------------------------------------------------------------------------------
    def and_chain(self, children: list[Any]) -> ast.And:
        return ast.And(tuple(child for child in children if not isinstance(child, Token)))

    def or_chain(self, children: list[Any]) -> ast.Or:
        return ast.Or(tuple(child for child in children if not isinstance(child, Token)))

    def not_condition(self, children: list[Any]) -> ast.Not:
        return ast.Not(children[1])

    def parenthesized(self, children: list[Any]) -> ast.Condition:
        return children[1]

    def comparison(self, children: list[Any]) -> ast.Comparison:
        operand, operator, value = children
        op = "!=" if operator == "<>" else str(operator)
        return ast.Comparison(operand, op, value, operand.pos)

    def like(self, children: list[Any]) -> ast.Comparison:
        return ast.Comparison(children[0], "LIKE", children[2], children[0].pos)

    def _value_list(self, children: list[Any], operator: str) -> ast.Comparison:
        values = tuple(child for child in children[1:] if isinstance(child, ast.Literal))
        return ast.Comparison(children[0], operator, values, children[0].pos)

    def in_values(self, children: list[Any]) -> ast.Comparison:
        return self._value_list(children, "IN")

    def not_in_values(self, children: list[Any]) -> ast.Comparison:
        return self._value_list(children, "NOT IN")

    def includes(self, children: list[Any]) -> ast.Comparison:
        return self._value_list(children, "INCLUDES")

    def excludes(self, children: list[Any]) -> ast.Comparison:
        return self._value_list(children, "EXCLUDES")

    def semi_join(self, children: list[Any]) -> ast.Comparison:
        subquery = next(child for child in children if isinstance(child, ast.Query))
        return ast.Comparison(children[0], "IN", subquery, children[0].pos)

    def anti_join(self, children: list[Any]) -> ast.Comparison:
        subquery = next(child for child in children if isinstance(child, ast.Query))
        return ast.Comparison(children[0], "NOT IN", subquery, children[0].pos)

    # -- literals ----------------------------------------------------------------------------------
    def value(self, children: list[Token]) -> ast.Literal:
        token = children[0]
        text = str(token)
        pos = _pos(token)
        kind = token.type
        if kind == "STRING":
            return ast.Literal("string", decode_string(self._query, token), text, pos, raw=text[1:-1])
        if kind == "NUMBER":
            is_integer = re.fullmatch(r"[+-]?\d+", text) is not None
            return ast.Literal("number", int(text) if is_integer else float(text), text, pos)
        if kind == "DATE":
            try:
                parse_date(text)
            except ValueError:
                raise malformed(self._query, pos, f"unexpected token: '{text}'") from None
            return ast.Literal("date", text, text, pos)
        if kind == "DATETIME":
            try:
                canonical = format_datetime(parse_datetime(text))
            except ValueError:
                raise malformed(self._query, pos, f"unexpected token: '{text}'") from None
            return ast.Literal("datetime", canonical, text, pos)
        if kind == "NULL":
            return ast.Literal("null", None, text, pos)
        if kind in ("TRUE", "FALSE"):
            return ast.Literal("boolean", kind == "TRUE", text, pos)
        if kind == "DATE_LITERAL_N":
            name, _, count = text.partition(":")
            return ast.Literal("date_literal", (name.upper(), int(count.strip())), text, pos)
        return ast.Literal("date_literal", (text.upper(), None), text, pos)
