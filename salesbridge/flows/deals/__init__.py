"""Partner deal registration: partners register deals in the hub, synced to Salesforce as Leads or
Opportunities (``recipe``), kept in ``sb_deals`` (``registry``), imported from Opportunities (``importer``)."""
