"""A small org for SOQL tests: its own schema (independent of the standard one) and fixed records.

The schema mirrors standard shapes (Account, Contact, Lead, Opportunity, User, Task with polymorphic WhoId and
WhatId, a custom lookup and a multi-select picklist) with few fields, so each expected result in the tests can
be checked by reading this file. "Now" is fixed at Wednesday 2026-02-18 12:00 UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from salesbridge.sandbox.ids import make_id
from salesbridge.sandbox.schema import FieldDef, ObjectDef, Schema
from salesbridge.sandbox.store import Store

NOW = datetime(2026, 2, 18, 12, 0, 0, tzinfo=UTC)

STAGES = ["Prospecting", "Qualification", "Negotiation/Review", "Closed Won", "Closed Lost"]


def _system(owner: bool = True) -> list[FieldDef]:
    fields = [
        FieldDef("Id", "id", nillable=False),
        FieldDef("IsDeleted", "boolean", nillable=False),
        FieldDef("CreatedDate", "datetime", nillable=False),
        FieldDef("SystemModstamp", "datetime", nillable=False),
    ]
    if owner:
        fields.append(FieldDef("OwnerId", "reference", reference_to=["User"], relationship_name="Owner"))
    return fields


def _object(name: str, prefix: str, fields: list[FieldDef], owner: bool = True, **kw: Any) -> ObjectDef:
    all_fields = _system(owner) + fields
    return ObjectDef(name=name, key_prefix=prefix, fields={f.name: f for f in all_fields}, **kw)


def make_schema() -> Schema:
    user = _object("User", "005", [
        FieldDef("Name", "string", length=121, name_field=True),
        FieldDef("Email", "email", length=80),
        FieldDef("Alias", "string", length=8),
        FieldDef("IsActive", "boolean", nillable=False),
    ], owner=False)
    account = _object("Account", "001", [
        FieldDef("Name", "string", length=255, name_field=True),
        FieldDef("Industry", "picklist", picklist_values=["Energy", "Technology"]),
        FieldDef("Rating", "picklist", picklist_values=["Hot", "Warm", "Cold"]),
        FieldDef("Type", "picklist", picklist_values=["Prospect", "Customer"]),
        FieldDef("AnnualRevenue", "currency"),
        FieldDef("NumberOfEmployees", "int"),
        FieldDef("ParentId", "reference", reference_to=["Account"], relationship_name="Parent",
                 child_relationship_name="ChildAccounts"),
        FieldDef("Description", "textarea", length=32000, filterable=False, sortable=False),
        FieldDef("Regions__c", "multipicklist", custom=True, picklist_values=["AMER", "EMEA", "APAC"]),
        FieldDef("Active__c", "boolean", custom=True, nillable=False),
        FieldDef("LastActivityDate", "date"),
    ], label_plural="Accounts")
    contact = _object("Contact", "003", [
        FieldDef("FirstName", "string", length=40),
        FieldDef("LastName", "string", length=80),
        FieldDef("Name", "string", length=121, name_field=True),
        FieldDef("Email", "email", length=80),
        FieldDef("Birthdate", "date"),
        FieldDef("AccountId", "reference", reference_to=["Account"], relationship_name="Account"),
    ])
    lead = _object("Lead", "00Q", [
        FieldDef("LastName", "string", length=80),
        FieldDef("Name", "string", length=121, name_field=True),
        FieldDef("Company", "string", length=255),
        FieldDef("Status", "picklist", picklist_values=["Open - Not Contacted", "Working - Contacted"]),
    ])
    opportunity = _object("Opportunity", "006", [
        FieldDef("Name", "string", length=120, name_field=True),
        FieldDef("AccountId", "reference", reference_to=["Account"], relationship_name="Account"),
        FieldDef("Amount", "currency"),
        FieldDef("StageName", "picklist", picklist_values=STAGES),
        FieldDef("CloseDate", "date"),
        FieldDef("IsWon", "boolean", nillable=False),
        FieldDef("Primary_Contact__c", "reference", custom=True, reference_to=["Contact"],
                 relationship_name="Primary_Contact__r"),
    ], label_plural="Opportunities")
    task = _object("Task", "00T", [
        FieldDef("Subject", "string", length=255),
        FieldDef("WhoId", "reference", reference_to=["Contact", "Lead"], relationship_name="Who"),
        FieldDef("WhatId", "reference", reference_to=["Account", "Opportunity"], relationship_name="What"),
        FieldDef("ActivityDate", "date"),
        FieldDef("Status", "picklist", picklist_values=["Open", "Completed"]),
    ])
    return Schema([user, account, contact, lead, opportunity, task])


#: Record ids by short name: U1, A1 ... (sequential, so Id order is the order of the names).
IDS: dict[str, str] = {}
for _prefix, _names in (("005", ["U1", "U2"]), ("001", ["A1", "A2", "A3", "A4", "A5"]),
                        ("003", ["C1", "C2", "C3", "C4", "C5"]), ("00Q", ["L1", "L2"]),
                        ("006", ["O1", "O2", "O3", "O4"]), ("00T", ["T1", "T2", "T3"])):
    for _sequence, _name in enumerate(_names, start=1):
        IDS[_name] = make_id(_prefix, _sequence)


def _stamp(text: str) -> str:
    return f"{text}.000+0000"


def _records() -> list[tuple[str, dict[str, Any]]]:
    i = IDS
    users = [
        {"Id": i["U1"], "Name": "Ada Admin", "Email": "ada@example.com", "Alias": "ada", "IsActive": True,
         "CreatedDate": _stamp("2024-01-01T00:00:00"), "SystemModstamp": _stamp("2024-01-01T00:00:00")},
        {"Id": i["U2"], "Name": "Sam Sales", "Email": "sam@example.com", "Alias": "sam", "IsActive": False,
         "CreatedDate": _stamp("2024-01-02T00:00:00"), "SystemModstamp": _stamp("2024-01-02T00:00:00")},
    ]
    accounts = [
        {"Id": i["A1"], "Name": "Acme", "Industry": "Technology", "Rating": "Hot", "Type": "Customer",
         "AnnualRevenue": 5000000.0, "NumberOfEmployees": 120, "ParentId": None, "Description": "Big one",
         "Regions__c": "EMEA;APAC", "Active__c": True, "LastActivityDate": "2026-02-16", "OwnerId": i["U1"],
         "CreatedDate": _stamp("2025-01-10T09:00:00"), "SystemModstamp": _stamp("2026-02-10T08:00:00")},
        {"Id": i["A2"], "Name": "Globex", "Industry": "Energy", "Rating": "Warm", "Type": "Prospect",
         "AnnualRevenue": 2500000.0, "NumberOfEmployees": 40, "ParentId": i["A1"], "Description": None,
         "Regions__c": "AMER", "Active__c": False, "LastActivityDate": "2026-01-31", "OwnerId": i["U2"],
         "CreatedDate": _stamp("2026-02-17T23:30:00"), "SystemModstamp": _stamp("2026-02-17T23:30:00")},
        {"Id": i["A3"], "Name": "initech", "Industry": "technology", "Rating": "Cold", "Type": None,
         "AnnualRevenue": None, "NumberOfEmployees": 15, "ParentId": i["A1"], "Description": None,
         "Regions__c": None, "Active__c": True, "LastActivityDate": None, "OwnerId": i["U1"],
         "CreatedDate": _stamp("2026-02-18T00:00:00"), "SystemModstamp": _stamp("2026-02-18T00:00:00")},
        {"Id": i["A4"], "Name": "Umbrella", "Industry": None, "Rating": None, "Type": "Customer",
         "AnnualRevenue": 1000000.0, "NumberOfEmployees": None, "ParentId": None, "Description": None,
         "Regions__c": "EMEA;AMER;APAC", "Active__c": False, "LastActivityDate": "2025-11-05", "OwnerId": i["U2"],
         "CreatedDate": _stamp("2026-02-03T10:00:00"), "SystemModstamp": _stamp("2026-02-03T10:00:00")},
        {"Id": i["A5"], "Name": "Old Co", "Industry": "Energy", "Rating": "Cold", "Type": None,
         "AnnualRevenue": 10.0, "NumberOfEmployees": 1, "ParentId": None, "Description": None,
         "Regions__c": None, "Active__c": False, "LastActivityDate": None, "OwnerId": i["U1"], "IsDeleted": True,
         "CreatedDate": _stamp("2025-12-24T10:00:00"), "SystemModstamp": _stamp("2026-02-01T10:00:00")},
    ]
    contacts = [
        {"Id": i["C1"], "FirstName": "Ann", "LastName": "Lee", "Name": "Ann Lee", "Email": "ann@acme.com",
         "Birthdate": "1990-05-17", "AccountId": i["A1"], "OwnerId": i["U1"],
         "CreatedDate": _stamp("2026-01-05T10:00:00"), "SystemModstamp": _stamp("2026-01-05T10:00:00")},
        {"Id": i["C2"], "FirstName": "Bob", "LastName": "O'Brien", "Name": "Bob O'Brien", "Email": None,
         "Birthdate": None, "AccountId": i["A1"], "OwnerId": i["U2"],
         "CreatedDate": _stamp("2026-01-06T10:00:00"), "SystemModstamp": _stamp("2026-01-06T10:00:00")},
        {"Id": i["C3"], "FirstName": "Cy", "LastName": "Nguyen", "Name": "Cy Nguyen", "Email": "cy@globex.com",
         "Birthdate": "1985-12-01", "AccountId": i["A2"], "OwnerId": i["U2"],
         "CreatedDate": _stamp("2026-01-07T10:00:00"), "SystemModstamp": _stamp("2026-01-07T10:00:00")},
        {"Id": i["C4"], "FirstName": None, "LastName": "Zed", "Name": "Zed", "Email": "zed_1@mail.test",
         "Birthdate": None, "AccountId": None, "OwnerId": i["U1"],
         "CreatedDate": _stamp("2026-01-08T10:00:00"), "SystemModstamp": _stamp("2026-01-08T10:00:00")},
        {"Id": i["C5"], "FirstName": "Del", "LastName": "Eted", "Name": "Del Eted", "Email": None,
         "Birthdate": None, "AccountId": i["A1"], "OwnerId": i["U1"], "IsDeleted": True,
         "CreatedDate": _stamp("2026-01-09T10:00:00"), "SystemModstamp": _stamp("2026-01-09T10:00:00")},
    ]
    leads = [
        {"Id": i["L1"], "LastName": "Croft", "Name": "Lara Croft", "Company": "Tomb Co",
         "Status": "Open - Not Contacted", "OwnerId": i["U1"],
         "CreatedDate": _stamp("2026-02-01T10:00:00"), "SystemModstamp": _stamp("2026-02-01T10:00:00")},
        {"Id": i["L2"], "LastName": "Drake", "Name": "Nate Drake", "Company": "Fortune Inc",
         "Status": "Working - Contacted", "OwnerId": i["U2"],
         "CreatedDate": _stamp("2026-02-02T10:00:00"), "SystemModstamp": _stamp("2026-02-02T10:00:00")},
    ]
    opportunities = [
        {"Id": i["O1"], "Name": "Acme - Big", "AccountId": i["A1"], "Amount": 100000.0, "StageName": "Prospecting",
         "CloseDate": "2026-02-20", "IsWon": False, "Primary_Contact__c": i["C1"], "OwnerId": i["U1"],
         "CreatedDate": _stamp("2026-01-20T10:00:00"), "SystemModstamp": _stamp("2026-01-20T10:00:00")},
        {"Id": i["O2"], "Name": "Acme - Small", "AccountId": i["A1"], "Amount": 5000.0, "StageName": "Closed Won",
         "CloseDate": "2026-01-15", "IsWon": True, "Primary_Contact__c": None, "OwnerId": i["U2"],
         "CreatedDate": _stamp("2026-01-02T10:00:00"), "SystemModstamp": _stamp("2026-01-15T10:00:00")},
        {"Id": i["O3"], "Name": "Globex - Renewal", "AccountId": i["A2"], "Amount": 25000.0,
         "StageName": "Negotiation/Review", "CloseDate": "2026-03-31", "IsWon": False,
         "Primary_Contact__c": i["C3"], "OwnerId": i["U2"],
         "CreatedDate": _stamp("2026-02-10T10:00:00"), "SystemModstamp": _stamp("2026-02-10T10:00:00")},
        {"Id": i["O4"], "Name": "Orphan", "AccountId": None, "Amount": None, "StageName": "Prospecting",
         "CloseDate": "2025-12-01", "IsWon": False, "Primary_Contact__c": None, "OwnerId": i["U1"],
         "CreatedDate": _stamp("2025-11-20T10:00:00"), "SystemModstamp": _stamp("2025-11-20T10:00:00")},
    ]
    tasks = [
        {"Id": i["T1"], "Subject": "Call", "WhoId": i["C1"], "WhatId": i["A1"], "ActivityDate": "2026-02-18",
         "Status": "Open", "OwnerId": i["U1"],
         "CreatedDate": _stamp("2026-02-11T10:00:00"), "SystemModstamp": _stamp("2026-02-11T10:00:00")},
        {"Id": i["T2"], "Subject": "Email", "WhoId": i["L1"], "WhatId": i["O1"], "ActivityDate": "2026-02-19",
         "Status": "Completed", "OwnerId": i["U2"],
         "CreatedDate": _stamp("2026-02-12T10:00:00"), "SystemModstamp": _stamp("2026-02-12T10:00:00")},
        {"Id": i["T3"], "Subject": "Note", "WhoId": None, "WhatId": None, "ActivityDate": None,
         "Status": "Open", "OwnerId": i["U1"],
         "CreatedDate": _stamp("2026-02-13T10:00:00"), "SystemModstamp": _stamp("2026-02-13T10:00:00")},
    ]
    out: list[tuple[str, dict[str, Any]]] = []
    for object_name, rows in (("User", users), ("Account", accounts), ("Contact", contacts), ("Lead", leads),
                              ("Opportunity", opportunities), ("Task", tasks)):
        for row in rows:
            row.setdefault("IsDeleted", False)
            out.append((object_name, row))
    return out


def make_store() -> Store:
    """A fresh in-memory store holding the fixture records."""
    store = Store(":memory:")
    with store.transaction():
        for object_name, record in _records():
            store.put(object_name, dict(record))
    return store


def url(object_name: str, short: str) -> str:
    return f"/services/data/v62.0/sobjects/{object_name}/{IDS[short]}"


def attrs(object_name: str, short: str) -> dict[str, str]:
    return {"type": object_name, "url": url(object_name, short)}
