"""A Salesforce-compatible server for offline use and tests.

It behaves as Salesforce documents (see shared/SALESFORCE_API.md), so the hub's own client code runs against it
unchanged. Modules: ``ids`` (record ids), ``schema`` (object definitions), ``store`` (records in SQLite),
``records`` (the write path every API shares), ``soql`` (parser and evaluator), ``app`` (the HTTP routes).
"""
