"""Salesforce's SOQL error messages: the offending line, a caret under the column, then the reason.

Salesforce answers, for example (errorCode INVALID_FIELD)::

    \\nSELECT Id, Foo FROM Account\\n           ^\\nERROR at Row:1:Column:12\\nNo such column 'Foo' on entity ...

Clients show that text to people, and some parse ``Row``/``Column`` out of it, so every SOQL error goes
through here.
"""

from __future__ import annotations

from salesbridge.sandbox.errors import SandboxApiError
from salesbridge.sandbox.soql.ast import Pos

CUSTOM_FIELD_HINT = ("If you are attempting to use a custom field, be sure to append the '__c' after the custom "
                     "field name. Please reference your WSDL or the describe call for the appropriate names.")
CUSTOM_OBJECT_HINT = ("If you are attempting to use a custom object, be sure to append the '__c' after the entity "
                      "name. Please reference your WSDL or the describe call for the appropriate names.")
CUSTOM_RELATIONSHIP_HINT = ("If you are attempting to use a custom relationship, be sure to append the '__r' after "
                            "the custom relationship name. Please reference your WSDL or the describe call for the "
                            "appropriate names.")


def located_message(query: str, pos: Pos | None, reason: str) -> str:
    """The message text: the query line at ``pos``, a caret line, the row/column line and the reason."""
    if pos is None:
        return reason
    lines = query.split("\n")
    line_text = lines[pos.line - 1] if 0 < pos.line <= len(lines) else ""
    caret = " " * max(pos.column - 1, 0) + "^"
    return f"\n{line_text}\n{caret}\nERROR at Row:{pos.line}:Column:{pos.column}\n{reason}"


def query_error(error_code: str, query: str, pos: Pos | None, reason: str) -> SandboxApiError:
    return SandboxApiError(error_code, located_message(query, pos, reason), status=400)


def malformed(query: str, pos: Pos | None, reason: str) -> SandboxApiError:
    return query_error("MALFORMED_QUERY", query, pos, reason)


def no_such_column(query: str, pos: Pos, column: str, entity: str) -> SandboxApiError:
    reason = f"No such column '{column}' on entity '{entity}'. {CUSTOM_FIELD_HINT}"
    return query_error("INVALID_FIELD", query, pos, reason)


def bad_relationship(query: str, pos: Pos, relationship: str) -> SandboxApiError:
    reason = f"Didn't understand relationship '{relationship}' in field path. {CUSTOM_RELATIONSHIP_HINT}"
    return query_error("INVALID_FIELD", query, pos, reason)


def bad_child_relationship(query: str, pos: Pos, relationship: str) -> SandboxApiError:
    reason = (f"Didn't understand relationship '{relationship}' in FROM part of query call. "
              f"{CUSTOM_RELATIONSHIP_HINT}")
    return query_error("INVALID_TYPE", query, pos, reason)


def unsupported_object(query: str, pos: Pos, object_name: str) -> SandboxApiError:
    reason = f"sObject type '{object_name}' is not supported. {CUSTOM_OBJECT_HINT}"
    return query_error("INVALID_TYPE", query, pos, reason)
