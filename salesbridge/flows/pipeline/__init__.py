"""Lead pipeline: a lead/pipeline tool's companies, contacts and leads kept two-way with Accounts, Contacts and
Leads (``recipe``), the tool's tables written as the tool writes them (``registry``), its lifecycle events
(``events``)."""
