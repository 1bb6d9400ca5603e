"""Shared helpers of the contract request tests: an org with the flow's schema, a hub, requests with files."""

from __future__ import annotations

import base64
from typing import Any

from api_support import connections

from salesbridge.flows.contracts.recipe import with_contracts
from salesbridge.salesforce import SalesforceClient
from salesbridge.sandbox.server import RunningSandbox
from salesbridge.sync.config import parse_config
from salesbridge.sync.runs import Hub


def hub_config(org: RunningSandbox, url: str, **contracts: Any) -> dict[str, Any]:
    return with_contracts({**connections(org, url), "contracts": contracts})


def make_hub(org: RunningSandbox, url: str, **contracts: Any) -> Hub:
    return Hub(parse_config(hub_config(org, url, **contracts), "contracts.yaml"))


def opportunity(client: SalesforceClient, name: str, account_id: str | None) -> str:
    values = {"Name": name, "StageName": "Negotiation/Review", "CloseDate": "2026-12-31"}
    if account_id:
        values["AccountId"] = account_id
    (created,) = client.create("Opportunity", [values])
    assert created.success, created.errors
    return str(created.id)


def submit(client: SalesforceClient, opportunity_id: str | None, *, account_id: str | None = None,
           file: tuple[str, bytes] | None = None, status: str = "Submitted", **fields: Any) -> str:
    """A Contract Request as a salesperson makes it: a draft with the file attached, then submitted."""
    values = {"Opportunity__c": opportunity_id, "Account__c": account_id, "Status__c": "Draft",
              "Contract_Type__c": "New Business", "Start_Date__c": "2027-01-01", "End_Date__c": "2027-12-31",
              "Contract_Value__c": 48000, **fields}
    (created,) = client.create("Contract_Request__c", [{k: v for k, v in values.items() if v is not None}])
    assert created.success, created.errors
    if file is not None:
        attach(client, str(created.id), *file)
    (moved,) = client.update("Contract_Request__c", [{"Id": created.id, "Status__c": status}])
    assert moved.success, moved.errors
    return str(created.id)


def attach(client: SalesforceClient, record_id: str, name: str, data: bytes) -> str:
    (version,) = client.create("ContentVersion", [{"Title": name.rsplit(".", 1)[0], "PathOnClient": name,
                                                   "VersionData": base64.b64encode(data).decode("ascii"),
                                                   "FirstPublishLocationId": record_id}])
    assert version.success, version.errors
    return str(version.id)
