"""salesbridge: a self-hosted Salesforce integration hub.

Packages: ``salesforce`` (talking to an org), ``sandbox`` (a Salesforce-compatible server),
``sync`` (the engine), ``connectors`` (systems beside Salesforce), ``store`` (the hub's own tables),
``triggers``, ``flows`` and ``web``.
"""

__version__ = "0.1.0"
