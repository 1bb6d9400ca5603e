"""The contract request flow's recipe: the flow, value map and ``contracts:`` section a hub's config gets.

The flow keeps Contract_Request__c and ``sb_contract_requests`` in step through the sync core: requests come
in once submitted (drafts stay in Salesforce), their details flow one way (Salesforce owns them), and the
status flows both ways with the reviewer's comment going back. Everything around it (files, profiles,
signature) is the contracts module's own work between two syncs (``runner``).
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml

FLOW_NAME = "contracts"
TABLE = "sb_contract_requests"
OBJECT = "Contract_Request__c"
STATUSES = ("Draft", "Submitted", "In Review", "Approved", "Rejected", "Out for Signature", "Signed")
#: Hub status -> Salesforce picklist value, one to one. A Salesforce value without an entry (the sandbox
#: schema's "Withdrawn") is a record error (UNMAPPED_VALUE) naming it, and the rest of the batch goes on.
STATUS_MAP = {status: status for status in STATUSES}


def contracts_recipe(*, flow_name: str = FLOW_NAME, signature_webhook: str | None = None,
                     max_file_bytes: int | None = None, every: str | None = "15m") -> dict[str, Any]:
    """The flow, its value map and the ``contracts:`` section, as config data (``with_contracts`` adds them).

    ``every`` schedules whole rounds (sync, pickup, documents) under ``salesbridge run``; None: no schedule."""
    details = {"Name": "name", "Opportunity__c": "opportunity_id", "Account__c": "account_id",
               "Contract_Type__c": "contract_type", "Start_Date__c": "start_date", "End_Date__c": "end_date",
               "Contract_Value__c": "contract_value"}
    fields: dict[str, Any] = {sf: {"app": app, "direction": "from_salesforce"} for sf, app in details.items()}
    fields["Status__c"] = {"app": "status", "values": "contract_status"}
    fields["Reviewer_Comment__c"] = {"app": "reviewer_comment", "direction": "to_salesforce"}
    flow = {"name": flow_name, "salesforce": OBJECT, "table": TABLE, "direction": "both",
            "key": {"salesforce_id_column": "sf_id"}, "fields": fields,
            "filter": {"salesforce": "Status__c != 'Draft'"}, "deletes": False}
    if every:
        flow["schedule"] = {"every": every}
    section: dict[str, Any] = {"flow": flow_name}
    if signature_webhook:
        section["signature_webhook"] = signature_webhook
    if max_file_bytes is not None:
        section["max_file_bytes"] = max_file_bytes
    return {"flows": [flow], "value_maps": {"contract_status": dict(STATUS_MAP)}, "contracts": section}


def shipped_recipe() -> dict[str, Any]:
    """``recipe.yaml`` as shipped (the default recipe, to copy into salesbridge.yaml)."""
    return yaml.safe_load((resources.files("salesbridge.flows.contracts") / "recipe.yaml").read_text("utf-8"))


def sandbox_schema_file() -> str:
    """The sandbox schema declaring Contract_Request__c (load it after the example schema)."""
    return str(resources.files("salesbridge.flows.contracts") / "sandbox_schema.yaml")


def with_contracts(config: dict[str, Any], **options: Any) -> dict[str, Any]:
    """A copy of a config dict with the contract request flow, its value map and ``contracts:`` added."""
    recipe = contracts_recipe(**options)
    return {**config, "flows": [*config.get("flows", []), *recipe["flows"]],
            "value_maps": {**config.get("value_maps", {}), **recipe["value_maps"]},
            "contracts": {**recipe["contracts"], **config.get("contracts", {})}}
