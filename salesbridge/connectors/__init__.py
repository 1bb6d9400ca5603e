"""Systems beside Salesforce that the hub syncs with: SQL databases (``sql``), and more to come."""
