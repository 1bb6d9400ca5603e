"""The sandbox's SOQL engine: a Lark grammar-based parser and an evaluator over the record store.

``execute(query, schema, source, ...)`` answers a QueryResult (API-form records, total size, object name, flat
column names); ``parse(query)`` gives the AST; ``compile_query`` resolves a query without running it (Bulk API
query jobs use its ``columns``); ``flat_row`` reads dotted columns out of nested result records.
"""

from salesbridge.sandbox.soql.columns import flat_row, flat_value
from salesbridge.sandbox.soql.evaluator import QueryResult, compile_query, execute
from salesbridge.sandbox.soql.parser import parse

__all__ = ["QueryResult", "compile_query", "execute", "flat_row", "flat_value", "parse"]
