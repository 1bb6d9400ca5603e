"""The sandbox's SOQL engine: a Lark grammar-based parser and an evaluator over the record store.

``execute(query, schema, source, ...)`` answers a QueryResult (API-form records, total size, object name, flat
column names); ``parse(query)`` gives the AST; ``compile_query`` resolves a query without running it (Bulk API
query jobs use its ``columns``); ``flat_row`` reads dotted columns out of nested result records.

Modules: ``grammar.lark`` and ``parser`` (text to ``ast``), ``resolve`` (field paths against the schema),
``values`` (typed comparison, literal checks), ``dates`` (relative date literals), ``conditions`` (WHERE/HAVING
as closures), ``ordering``, ``projection`` (output shapes), ``aggregates``, ``functions``, ``evaluator`` (plans),
``errors`` (Salesforce's caret messages), ``columns``.

Not supported (a query using them fails with MALFORMED_QUERY): TYPEOF, GROUP BY ROLLUP/CUBE, USING SCOPE, object
aliases in FROM, bind variables, currency-prefixed literals, WITH DATA CATEGORY, UPDATE TRACKING/VIEWSTAT,
distance/geolocation functions.
"""

from salesbridge.sandbox.soql.columns import flat_row, flat_value
from salesbridge.sandbox.soql.evaluator import QueryResult, compile_query, execute
from salesbridge.sandbox.soql.parser import parse

__all__ = ["QueryResult", "compile_query", "execute", "flat_row", "flat_value", "parse"]
