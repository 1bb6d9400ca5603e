"""The deal flow's recipe: the flow and value maps that partner deal registration adds to a hub's config.

A deal goes to Salesforce as a Lead, or as an Opportunity at the Account of the one Contact whose email is the
end user's (``route``); a converted Lead is followed to its Opportunity (``conversion``); both carry the
``Sync_with_Hub__c`` checkbox. When deals are sent is a filter on their status (``sync_on``), so the ordinary
runs, schedules and chains of the hub carry them; ``manual`` turns the flow off for whole runs and only
"sync now" (``salesbridge deals sync``, ``POST /api/deals/{id}/sync``) sends a deal.
"""

from __future__ import annotations

from importlib import resources
from typing import Any, Literal

import yaml

FLOW_NAME = "deals"
TABLE = "sb_deals"
STATUSES = ("Draft", "Submitted", "Pre-Approved", "Approved", "Rejected", "Won", "Lost")
OPEN_STATUSES = ("Draft", "Submitted", "Pre-Approved", "Approved")
SyncOn = Literal["created", "pre_approved", "approved", "manual"]

#: The statuses from which a deal is sent, per ``sync_on``; drafts never are.
SENT_FROM: dict[str, tuple[str, ...]] = {
    "created": ("Submitted", "Pre-Approved", "Approved", "Rejected", "Won", "Lost"),
    "pre_approved": ("Pre-Approved", "Approved", "Won", "Lost"),
    "approved": ("Approved", "Won", "Lost"),
    "manual": ("Submitted", "Pre-Approved", "Approved", "Rejected", "Won", "Lost"),
}

#: Lead Status is only sent: Lead statuses are fewer than deal statuses, so reading them back would change a
#: Pre-Approved deal into an Approved one.
LEAD_STATUS = {
    "Submitted": "Open - Not Contacted", "Pre-Approved": "Working - Contacted", "Approved": "Working - Contacted",
    "Rejected": "Closed - Not Converted", "Lost": "Closed - Not Converted", "Won": "Closed - Converted",
}
#: Stages without an entry (Id. Decision Makers, Perception Analysis, Negotiation/Review) are record errors
#: (UNMAPPED_VALUE): the partner program decides what they mean before they are mapped.
OPPORTUNITY_STAGE = {
    "to_salesforce": {"Submitted": "Prospecting", "Pre-Approved": "Qualification", "Approved": "Needs Analysis",
                      "Rejected": "Closed Lost", "Won": "Closed Won", "Lost": "Closed Lost"},
    "from_salesforce": {"Prospecting": "Submitted", "Qualification": "Pre-Approved", "Needs Analysis": "Approved",
                        "Value Proposition": "Approved", "Proposal/Price Quote": "Approved",
                        "Closed Won": "Won", "Closed Lost": "Lost"},
}


def deals_recipe(sync_on: SyncOn = "approved", *, owner: str | None = None,
                 default_close_date: str = "2026-12-31", every: str | None = "15m") -> dict[str, Any]:
    """The config pieces of the deal flow: ``{"flows": [flow], "value_maps": {...}}``, to merge into a config.

    ``owner`` (a Salesforce username or email) owns the Leads and Opportunities made for deals. ``every`` is the
    flow's schedule under ``salesbridge run`` (None: no schedule), which is what makes ``sync_on`` automatic.
    """
    statuses = ", ".join(f"'{status}'" for status in SENT_FROM[sync_on])
    defaults: dict[str, Any] = {"LeadSource": "Partner"}
    route_defaults: dict[str, Any] = {"CloseDate": default_close_date, "LeadSource": "Partner"}
    if owner:
        defaults["OwnerId"] = {"user": owner}
        route_defaults["OwnerId"] = {"user": owner}
    opportunity_fields = {"Name": "title", "Amount": "amount", "CloseDate": "close_date",
                          "StageName": {"app": "status", "values": "deal_stages"}}
    flow = {
        "name": FLOW_NAME, "salesforce": "Lead", "table": TABLE, "direction": "both",
        "enabled": sync_on != "manual",
        "key": {"salesforce_id_column": "sf_id", "external_id": "Hub_Id__c"},
        "fields": {"FirstName": "end_user_first_name", "LastName": "end_user_last_name",
                   "Email": {"app": "end_user_email", "transform": "lower"}, "Company": "company",
                   "Description": "title",
                   "Status": {"app": "status", "values": "deal_lead_status", "direction": "to_salesforce"}},
        "filter": {"app": f"status IN ({statuses})"},
        "defaults": defaults,
        "sync_flag": "Sync_with_Hub__c",
        "deletes": False,
        # The deal's values go to the Opportunity its Lead became: the deal is the record's source, and the new
        # Opportunity's first stage (Prospecting) must not come back as "Submitted".
        "conversion": {"to": "Opportunity", "fields": opportunity_fields, "initial": "app"},
        "route": {"to": "Opportunity",
                  "when_exactly_one": {"object": "Contact", "fields": {"Email": "end_user_email"}},
                  "set": {"AccountId": "AccountId", "ContactId": "Id"},
                  "defaults": route_defaults, "external_id": "Hub_Id__c"},
    }
    if every and sync_on != "manual":
        flow["schedule"] = {"every": every}
    return {"flows": [flow], "value_maps": {"deal_lead_status": {"to_salesforce": dict(LEAD_STATUS)},
                                            "deal_stages": {k: dict(v) for k, v in OPPORTUNITY_STAGE.items()}}}


def shipped_recipe() -> dict[str, Any]:
    """``recipe.yaml`` as shipped (the default recipe, to copy into salesbridge.yaml)."""
    return yaml.safe_load((resources.files("salesbridge.flows.deals") / "recipe.yaml").read_text("utf-8"))


def sandbox_schema_file() -> str:
    """The sandbox schema file the recipe needs on top of the example schema (Sync_with_Hub__c)."""
    return str(resources.files("salesbridge.flows.deals") / "sandbox_schema.yaml")


def with_deals(config: dict[str, Any], sync_on: SyncOn = "approved", **options: Any) -> dict[str, Any]:
    """A copy of a config dict with the deal flow and its value maps added."""
    recipe = deals_recipe(sync_on, **options)
    return {**config, "flows": [*config.get("flows", []), *recipe["flows"]],
            "value_maps": {**config.get("value_maps", {}), **recipe["value_maps"]}}
