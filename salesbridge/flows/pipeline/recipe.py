"""The pipeline recipe: three flows and a value map that keep a lead/pipeline tool's tables in step with
Salesforce, both ways.

- ``pipeline_companies``: ``sb_pipeline_companies`` <-> Account.
- ``pipeline_contacts``: ``sb_pipeline_contacts`` <-> Contact; ``company_id`` <-> AccountId (a reference to the
  companies flow: the Account linked to that company row, and back).
- ``pipeline_leads``: ``sb_pipeline_leads`` <-> Lead; the tool's fixed stages <-> Lead Status (one value each
  way; a stage or status without an entry is a record error UNMAPPED_VALUE); ``owner_email`` <-> OwnerId (the
  owner's email; an unknown user is a record error). Stage Won converts the Lead (``conversion.when``) and a Lead
  converted in Salesforce makes the lead Won, after which it follows the Contact the Lead became. Won, lost and
  owner changes are recorded as lifecycle events (``events``; owner changes by the engine).

New records are owned by the default sales manager; the flows run on a schedule (every 15 minutes) and delete
on the other side what is deleted on one. Companies come first in the list: a contact's company must be linked
before the contact is written.
"""

from __future__ import annotations

from copy import deepcopy
from importlib import resources
from typing import Any

import yaml

FLOW_COMPANIES = "pipeline_companies"
FLOW_CONTACTS = "pipeline_contacts"
FLOW_LEADS = "pipeline_leads"
FLOWS = (FLOW_COMPANIES, FLOW_CONTACTS, FLOW_LEADS)
TABLE_COMPANIES = "sb_pipeline_companies"
TABLE_CONTACTS = "sb_pipeline_contacts"
TABLE_LEADS = "sb_pipeline_leads"
#: The tool's pipeline, in order. Won and Lost close a lead.
STAGES = ("New", "Contacted", "Qualified", "Proposal", "Won", "Lost")
#: Stage <-> Lead Status, one to one. Qualified and Proposal Sent are Lead Status values an admin adds in Setup
#: (a new org has only the other four); Won is what a converted Lead shows.
LEAD_STATUS = {"New": "Open - Not Contacted", "Contacted": "Working - Contacted", "Qualified": "Qualified",
               "Proposal": "Proposal Sent", "Won": "Closed - Converted", "Lost": "Closed - Not Converted"}
VALUE_MAP = "pipeline_stages"
DEFAULT_OWNER = "sales.manager@sandbox.example"
EXTERNAL_ID = "Pipeline_Id__c"
#: Lifecycle events the leads flow records besides created/updated/deleted/converted/owner_changed.
EVENTS = {"won": {"stage": "Won"}, "lost": {"stage": "Lost"}}


def pipeline_recipe(owner: str = DEFAULT_OWNER, *, every: str = "15m", timezone: str = "UTC",
                    lead_filter: str | None = None) -> dict[str, Any]:
    """The config pieces of the pipeline: ``{"flows": [...], "value_maps": {...}}``, to merge into a config.

    ``owner`` (a Salesforce username or email) owns the records the hub creates; ``every`` is the schedule;
    ``lead_filter`` (a SOQL condition) limits the Leads the tool gets, e.g. ``Sync_with_Hub__c = false`` beside
    the deal flow, whose Leads would otherwise come into the tool too.
    """
    common: dict[str, Any] = {"direction": "both", "deletes": True,
                              "key": {"salesforce_id_column": "sf_id", "external_id": EXTERNAL_ID},
                              "defaults": {"OwnerId": {"user": owner}},
                              "schedule": {"every": every, "timezone": timezone}}
    companies = {"name": FLOW_COMPANIES, "salesforce": "Account", "table": TABLE_COMPANIES, **deepcopy(common),
                 "fields": {"Name": "name", "Website": "website", "Phone": "phone"}}
    contacts = {"name": FLOW_CONTACTS, "salesforce": "Contact", "table": TABLE_CONTACTS, **deepcopy(common),
                "fields": {"FirstName": "first_name", "LastName": "last_name",
                           "Email": {"app": "email", "transform": "lower"}, "Phone": "phone", "Title": "title",
                           "AccountId": {"app": "company_id", "reference": FLOW_COMPANIES}}}
    person = {"FirstName": "first_name", "LastName": "last_name", "Email": {"app": "email", "transform": "lower"},
              "Phone": "phone", "Title": "title", "OwnerId": {"app": "owner_email", "user": True}}
    leads = {"name": FLOW_LEADS, "salesforce": "Lead", "table": TABLE_LEADS, **deepcopy(common),
             "fields": {**person, "Company": "company", "Status": {"app": "stage", "values": VALUE_MAP}},
             "conversion": {"to": "Contact", "fields": deepcopy(person), "when": {"stage": "Won"},
                            "status": LEAD_STATUS["Won"], "opportunity": True},
             "events": {kind: dict(values) for kind, values in EVENTS.items()}}
    if lead_filter:
        leads["filter"] = {"salesforce": lead_filter}
    return {"flows": [companies, contacts, leads], "value_maps": {VALUE_MAP: dict(LEAD_STATUS)}}


def shipped_recipe() -> dict[str, Any]:
    """``recipe.yaml`` as shipped (the default recipe, to copy into salesbridge.yaml)."""
    return yaml.safe_load((resources.files("salesbridge.flows.pipeline") / "recipe.yaml").read_text("utf-8"))


def sandbox_schema_file() -> str:
    """The sandbox schema file the recipe needs on top of the example schema (Pipeline_Id__c, Lead Status)."""
    return str(resources.files("salesbridge.flows.pipeline") / "sandbox_schema.yaml")


def with_pipeline(config: dict[str, Any], **options: Any) -> dict[str, Any]:
    """A copy of a config dict with the pipeline flows and value map added."""
    recipe = pipeline_recipe(**options)
    return {**config, "flows": [*config.get("flows", []), *recipe["flows"]],
            "value_maps": {**config.get("value_maps", {}), **recipe["value_maps"]}}
