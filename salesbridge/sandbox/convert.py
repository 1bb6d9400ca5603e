"""Lead conversion with the semantics of Salesforce's SOAP ``convertLead`` (LeadConvert -> LeadConvertResult).

Salesforce has no REST resource for it: clients call SOAP ``convertLead`` (soap.py hands each LeadConvert here)
and the sandbox adds ``POST /sandbox/admin/convertLead`` for demos and tests. Rules kept, from the SOAP API
guide and Salesforce Help:

- ``convertedStatus`` is required and must be a Lead Status whose meaning is "converted"
  (``OrgSettings.converted_lead_statuses``); otherwise INVALID_STATUS.
- Without ``accountId`` a new Account is made from the lead (Company, address, phone...); with one, the lead is
  merged into it and only its empty fields are filled. The same for ``contactId``, which needs ``accountId`` and
  must belong to that account; ``overwriteLeadSource`` (which needs ``contactId``) replaces its LeadSource.
- Unless ``doNotCreateOpportunity``, an Opportunity named ``opportunityName`` (default: the lead's Company,
  at most 80 characters, and blank when no opportunity is wanted) is created in the default stage, closing on
  the last day of the current quarter.
- ``ownerId`` owns the new records (default: the lead's owner); it never changes existing ones.
- The lead becomes IsConverted with ConvertedDate, ConvertedAccountId/ContactId/OpportunityId and the status;
  converting it again, or updating it later, fails with CANNOT_UPDATE_CONVERTED_LEAD.

Each lead converts in one store transaction: a failure leaves nothing behind and is answered in that lead's
result (``success`` false, ``errors`` with statusCode, message, fields), as the SOAP call answers it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from salesbridge.salesforce.datetimes import format_datetime
from salesbridge.sandbox import ids
from salesbridge.sandbox.errors import SandboxApiError
from salesbridge.sandbox.http import OrgDep, UserDep, json_response
from salesbridge.sandbox.org import Org

#: Lead Status values that mean "converted" in a new Salesforce org (LeadStatus.IsConverted = true).
DEFAULT_CONVERTED_STATUSES = ("Closed - Converted",)
#: Salesforce's limit on LeadConvert.opportunityName.
OPPORTUNITY_NAME_MAX = 80
#: Where sent-notification records are kept, so that tests and the hub can see them (no mail leaves).
NOTIFICATIONS_KEY = "notifications"

#: Standard field mapping of lead conversion (Salesforce Help, "How are lead fields mapped").
LEAD_TO_ACCOUNT = {
    "Company": "Name", "Street": "BillingStreet", "City": "BillingCity", "State": "BillingState",
    "PostalCode": "BillingPostalCode", "Country": "BillingCountry", "Phone": "Phone", "Fax": "Fax",
    "Website": "Website", "Industry": "Industry", "AnnualRevenue": "AnnualRevenue",
    "NumberOfEmployees": "NumberOfEmployees", "Rating": "Rating", "LeadSource": "AccountSource",
}
LEAD_TO_CONTACT = {
    "Salutation": "Salutation", "FirstName": "FirstName", "LastName": "LastName", "Title": "Title",
    "Email": "Email", "Phone": "Phone", "MobilePhone": "MobilePhone", "Fax": "Fax",
    "Description": "Description", "LeadSource": "LeadSource", "DoNotCall": "DoNotCall",
    "HasOptedOutOfEmail": "HasOptedOutOfEmail", "HasOptedOutOfFax": "HasOptedOutOfFax",
    "Street": "MailingStreet", "City": "MailingCity", "State": "MailingState",
    "PostalCode": "MailingPostalCode", "Country": "MailingCountry",
}
LEAD_TO_OPPORTUNITY = {"LeadSource": "LeadSource"}

router = APIRouter()


@dataclass
class LeadConvertRequest:
    """One SOAP LeadConvert, with its element names mapped to Python ones."""

    lead_id: str | None
    converted_status: str | None
    account_id: str | None = None
    contact_id: str | None = None
    owner_id: str | None = None
    opportunity_name: str | None = None
    do_not_create_opportunity: bool = False
    overwrite_lead_source: bool = False
    send_notification_email: bool = False

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LeadConvertRequest:
        """Read the SOAP element names (leadId, convertedStatus, ...); empty strings count as not given."""
        def text(name: str) -> str | None:
            value = data.get(name)
            if value is None:
                return None
            value = str(value).strip()
            return value or None

        return cls(
            lead_id=text("leadId"), converted_status=text("convertedStatus"), account_id=text("accountId"),
            contact_id=text("contactId"), owner_id=text("ownerId"), opportunity_name=text("opportunityName"),
            do_not_create_opportunity=_flag(data.get("doNotCreateOpportunity"), "doNotCreateOpportunity"),
            overwrite_lead_source=_flag(data.get("overwriteLeadSource"), "overwriteLeadSource"),
            send_notification_email=_flag(data.get("sendNotificationEmail"), "sendNotificationEmail"),
        )


def _flag(value: Any, name: str) -> bool:
    """An xsd:boolean (``true``/``false``/``1``/``0``) or a JSON boolean; absent is false."""
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise SandboxApiError("INVALID_FIELD", f"'{value}' is not a valid value for the type xsd:boolean",
                          fields=[name])


# -- public entry points ----------------------------------------------------------------------------------
def convert_lead(org: Org, user_id: str, request: dict[str, Any]) -> dict[str, Any]:
    """Convert one lead; answers a LeadConvertResult (accountId, contactId, leadId, opportunityId, success,
    errors) and never raises for a per-lead problem."""
    lead_id = _normalised(request.get("leadId"))
    try:
        parsed = LeadConvertRequest.from_dict(request)
        with org.store.transaction():
            result = _convert(org, user_id, parsed)
    except SandboxApiError as error:
        return {"accountId": None, "contactId": None, "leadId": lead_id, "opportunityId": None,
                "success": False, "errors": [error.as_collection_item()]}
    if parsed.send_notification_email:
        _record_notification(org, result, parsed, user_id)
    return result


def convert_leads(org: Org, user_id: str, requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Convert several leads independently, one result each in input order (as SOAP convertLead does)."""
    return [convert_lead(org, user_id, request) for request in requests]


def notifications(org: Org) -> list[dict[str, Any]]:
    """The notification e-mails conversions would have sent, oldest first."""
    return list(org.store.kv_get(NOTIFICATIONS_KEY, []))


# -- the conversion ---------------------------------------------------------------------------------------
def _convert(org: Org, user_id: str, request: LeadConvertRequest) -> dict[str, Any]:
    lead = _live_record(org, "Lead", request.lead_id, "leadId")
    if lead.get("IsConverted"):
        raise SandboxApiError("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead")
    status = _converted_status(org, request.converted_status)
    _check_options(request)
    owner_id = _owner(org, request.owner_id, lead)

    if request.account_id:
        account = _live_record(org, "Account", request.account_id, "accountId")
        account_id = account["Id"]
        _fill_empty(org, "Account", account, _mapped(org, lead, LEAD_TO_ACCOUNT, "Account"), user_id)
    else:
        values = _mapped(org, lead, LEAD_TO_ACCOUNT, "Account")
        values["Name"] = lead.get("Company") or _lead_name(lead)
        values["OwnerId"] = owner_id
        account_id = _create(org, "Account", values, user_id)

    contact_values = _mapped(org, lead, LEAD_TO_CONTACT, "Contact")
    if request.contact_id:
        contact = _live_record(org, "Contact", request.contact_id, "contactId")
        if contact.get("AccountId") != account_id:
            raise SandboxApiError("INVALID_CROSS_REFERENCE_KEY",
                                  "invalid cross reference id: the contact does not belong to the account",
                                  fields=["contactId"])
        contact_id = contact["Id"]
        overwrite = {"LeadSource": lead.get("LeadSource")} if request.overwrite_lead_source else {}
        _fill_empty(org, "Contact", contact, contact_values, user_id, overwrite=overwrite)
    else:
        contact_values.update({"AccountId": account_id, "OwnerId": owner_id})
        contact_id = _create(org, "Contact", contact_values, user_id)

    opportunity_id = None
    if not request.do_not_create_opportunity:
        values = _mapped(org, lead, LEAD_TO_OPPORTUNITY, "Opportunity")
        values.update({
            "Name": request.opportunity_name or lead.get("Company") or _lead_name(lead),
            "AccountId": account_id, "OwnerId": owner_id, "ContactId": contact_id,
            "StageName": _default_stage(org), "CloseDate": _end_of_quarter(_today(org)).isoformat(),
        })
        opportunity_id = _create(org, "Opportunity", values, user_id)

    org.records.system_update("Lead", lead["Id"], {
        "IsConverted": True, "ConvertedDate": _today(org).isoformat(), "ConvertedAccountId": account_id,
        "ConvertedContactId": contact_id, "ConvertedOpportunityId": opportunity_id, "Status": status,
    }, user_id)
    return {"accountId": account_id, "contactId": contact_id, "leadId": lead["Id"],
            "opportunityId": opportunity_id, "success": True, "errors": []}


def _check_options(request: LeadConvertRequest) -> None:
    if request.contact_id and not request.account_id:
        raise SandboxApiError("REQUIRED_FIELD_MISSING", "accountId must be specified if contactId is not null",
                              fields=["accountId"])
    if request.overwrite_lead_source and not request.contact_id:
        raise SandboxApiError("REQUIRED_FIELD_MISSING",
                              "contactId must be specified if overwriteLeadSource is true", fields=["contactId"])
    if request.opportunity_name and request.do_not_create_opportunity:
        raise SandboxApiError("INVALID_FIELD", "opportunityName must be blank if doNotCreateOpportunity is true",
                              fields=["opportunityName"])
    if request.opportunity_name and len(request.opportunity_name) > OPPORTUNITY_NAME_MAX:
        raise SandboxApiError("STRING_TOO_LONG",
                              f"opportunityName: data value too large (max length={OPPORTUNITY_NAME_MAX})",
                              fields=["opportunityName"])


def _normalised(value: Any) -> str | None:
    if value in (None, ""):
        return None
    try:
        return ids.to_18(str(value).strip())
    except ValueError:
        return str(value)


def _live_record(org: Org, object_name: str, record_id: str | None, field_name: str) -> dict[str, Any]:
    """The live record of ``object_name`` behind an id argument, or the error Salesforce gives for it."""
    if not record_id:
        raise SandboxApiError("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{field_name}]",
                              fields=[field_name])
    try:
        full = ids.to_18(record_id)
    except ValueError:
        raise SandboxApiError("MALFORMED_ID", f"malformed id {record_id}", fields=[field_name]) from None
    record = org.store.get(full)
    if record is None or (org.store.object_of(full) or "").lower() != object_name.lower():
        raise SandboxApiError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", fields=[field_name])
    if record.get("IsDeleted"):
        raise SandboxApiError("ENTITY_IS_DELETED", "entity is deleted", fields=[field_name])
    return record


def _converted_status(org: Org, status: str | None) -> str:
    allowed = list(getattr(org.settings, "converted_lead_statuses", DEFAULT_CONVERTED_STATUSES))
    for candidate in allowed:
        if status is not None and candidate.lower() == status.lower():
            return candidate
    raise SandboxApiError("INVALID_STATUS", f"invalid convertedStatus: {status or ''}", fields=["Status"])


def _owner(org: Org, owner_id: str | None, lead: dict[str, Any]) -> str:
    if owner_id is None:
        return lead.get("OwnerId") or ""
    return _live_record(org, "User", owner_id, "ownerId")["Id"]


def _lead_name(lead: dict[str, Any]) -> str:
    return " ".join(part for part in (lead.get("FirstName"), lead.get("LastName")) if part) or "Unknown"


def _mapped(org: Org, lead: dict[str, Any], mapping: dict[str, str], target: str) -> dict[str, Any]:
    """Lead values under the target's field names, for the fields both objects have and the lead has filled."""
    target_fields = org.records.object_def(target).fields
    return {target_field: lead[lead_field] for lead_field, target_field in mapping.items()
            if target_field in target_fields and lead.get(lead_field) not in (None, "")}


def _create(org: Org, object_name: str, values: dict[str, Any], user_id: str) -> str:
    """Create through the normal write path (validation, defaults); fields the API may not set on create
    (such as Opportunity.ContactId in some schemas) are set afterwards as the server would."""
    object_def = org.records.object_def(object_name)
    given: dict[str, Any] = {}
    server_set: dict[str, Any] = {}
    for name, value in values.items():
        field_def = object_def.field(name)
        if field_def is None or value is None:
            continue
        (given if field_def.createable else server_set)[field_def.name] = value
    record_id = org.records.create(object_def.name, given, user_id)
    if server_set:
        org.records.system_update(object_def.name, record_id, server_set, user_id)
    return record_id


def _fill_empty(org: Org, object_name: str, existing: dict[str, Any], values: dict[str, Any], user_id: str,
                overwrite: dict[str, Any] | None = None) -> None:
    """Merge into an existing record: only its empty fields take the lead's values (plus ``overwrite``)."""
    object_def = org.records.object_def(object_name)
    changes: dict[str, Any] = {}
    for name, value in values.items():
        field_def = object_def.field(name)
        if field_def is not None and field_def.updateable and existing.get(field_def.name) in (None, ""):
            changes[field_def.name] = value
    for name, value in (overwrite or {}).items():
        if object_def.field(name) is not None:
            changes[name] = value
    if changes:
        org.records.update(object_def.name, existing["Id"], changes, user_id)


def _default_stage(org: Org) -> str:
    """The default Opportunity stage: the picklist's default value, else its first value."""
    stage = org.records.object_def("Opportunity").field("StageName")
    if stage is not None and stage.default_value:
        return str(stage.default_value)
    if stage is not None and stage.picklist_values:
        return stage.picklist_values[0]
    return "Prospecting"


def _today(org: Org) -> date:
    return org.clock.now().date()


def _end_of_quarter(day: date) -> date:
    """Salesforce sets a converted opportunity's CloseDate to the last day of the current (fiscal) quarter."""
    first_month_next = (day.month - 1) // 3 * 3 + 4
    if first_month_next > 12:
        return date(day.year, 12, 31)
    return date(day.year, first_month_next, 1) - timedelta(days=1)


def _record_notification(org: Org, result: dict[str, Any], request: LeadConvertRequest, user_id: str) -> None:
    """What Salesforce would e-mail to the owner of the new records; kept instead of sent."""
    lead = org.store.get(result["leadId"]) or {}
    owner_id = ids.to_18(request.owner_id) if request.owner_id else lead.get("OwnerId")
    with org.store.lock:
        sent = notifications(org)
        sent.append({
            "type": "LeadConvert", "toUserId": owner_id, "sentById": user_id,
            "subject": f"Lead converted: {_lead_name(lead)}", "leadId": result["leadId"],
            "accountId": result["accountId"], "contactId": result["contactId"],
            "opportunityId": result["opportunityId"], "sentDate": format_datetime(org.clock.now()),
        })
        org.store.kv_set(NOTIFICATIONS_KEY, sent)


# -- admin endpoint ---------------------------------------------------------------------------------------
@router.post("/sandbox/admin/convertLead")
async def convert_lead_endpoint(request: Request, org: OrgDep, user_id: UserDep) -> JSONResponse:
    """Convert one lead (JSON object) or several (JSON list) with the SOAP LeadConvert field names."""
    try:
        body = await request.json()
    except ValueError:
        raise SandboxApiError("JSON_PARSER_ERROR", "The request body is not valid JSON") from None
    if isinstance(body, dict):
        return json_response(convert_lead(org, user_id, body))
    if isinstance(body, list) and all(isinstance(item, dict) for item in body):
        return json_response(convert_leads(org, user_id, body))
    raise SandboxApiError("JSON_PARSER_ERROR", "Expected a LeadConvert object or a list of them")
