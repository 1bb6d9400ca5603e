"""The standard objects of a fresh Salesforce org, as ``describe`` shows them.

Field names, describe types, lengths, labels, picklist values (with their defaults and whether they are
restricted), relationship names and child relationship names follow Salesforce's Object Reference and Field
Reference for a default Enterprise/Developer org. Validation messages quote field *labels*
(``Stage: bad value for restricted picklist field: X``), so labels matter as much as names.

Only the fields an integration commonly reads or writes are modelled; the server keeps the system fields
(Id, IsDeleted, CreatedDate, CreatedById, LastModifiedDate, LastModifiedById, SystemModstamp) and OwnerId.
Owner lookups point at User only (a real org also allows queues, i.e. Group, on Lead and Case).
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterable

from salesbridge.sandbox.schema.model import FieldDef, ObjectDef, Schema

# -- picklist value sets of a default org ------------------------------------------------------------------
LEAD_SOURCES = ["Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"]
INDUSTRIES = [
    "Agriculture", "Apparel", "Banking", "Biotechnology", "Chemicals", "Communications", "Construction",
    "Consulting", "Education", "Electronics", "Energy", "Engineering", "Entertainment", "Environmental",
    "Finance", "Food & Beverage", "Government", "Healthcare", "Hospitality", "Insurance", "Machinery",
    "Manufacturing", "Media", "Not For Profit", "Other", "Recreation", "Retail", "Shipping", "Technology",
    "Telecommunications", "Transportation", "Utilities",
]
RATINGS = ["Hot", "Warm", "Cold"]
SALUTATIONS = ["Mr.", "Ms.", "Mrs.", "Dr.", "Prof.", "Mx."]
ACCOUNT_TYPES = ["Prospect", "Customer - Direct", "Customer - Channel", "Channel Partner / Reseller",
                 "Installation Partner", "Technology Partner", "Other"]
LEAD_STATUSES = ["Open - Not Contacted", "Working - Contacted", "Closed - Converted", "Closed - Not Converted"]
#: Opportunity stages with their default probability and forecast category (OpportunityStage records).
OPPORTUNITY_STAGES: dict[str, tuple[float, str]] = {
    "Prospecting": (10.0, "Pipeline"),
    "Qualification": (10.0, "Pipeline"),
    "Needs Analysis": (20.0, "Pipeline"),
    "Value Proposition": (50.0, "Pipeline"),
    "Id. Decision Makers": (60.0, "Pipeline"),
    "Perception Analysis": (70.0, "Pipeline"),
    "Proposal/Price Quote": (75.0, "Pipeline"),
    "Negotiation/Review": (90.0, "Pipeline"),
    "Closed Won": (100.0, "Closed"),
    "Closed Lost": (0.0, "Omitted"),
}
CLOSED_WON_STAGES = frozenset({"Closed Won"})
CLOSED_STAGES = frozenset({"Closed Won", "Closed Lost"})
#: ForecastCategoryName (label-like) -> ForecastCategory (API enum).
FORECAST_CATEGORIES = {"Omitted": "Omitted", "Pipeline": "Pipeline", "Best Case": "BestCase",
                       "Commit": "Forecast", "Closed": "Closed"}
OPPORTUNITY_TYPES = ["Existing Customer - Upgrade", "Existing Customer - Replacement",
                     "Existing Customer - Downgrade", "New Customer"]
CONTRACT_STATUSES = ["Draft", "In Approval Process", "Activated"]
#: Contract Status -> StatusCode (the ContractStatus category).
CONTRACT_STATUS_CODES = {"Draft": "Draft", "In Approval Process": "InApproval", "Activated": "Activated"}
TASK_STATUSES = ["Not Started", "In Progress", "Completed", "Waiting on someone else", "Deferred"]
CLOSED_TASK_STATUSES = frozenset({"Completed"})
TASK_PRIORITIES = ["High", "Normal", "Low"]
CASE_STATUSES = ["New", "Working", "Escalated", "Closed"]
CLOSED_CASE_STATUSES = frozenset({"Closed"})
LOCALES = ["en_US", "en_GB", "en_CA", "en_AU", "en_IE", "en_IN", "de_DE", "de_AT", "de_CH", "fr_FR", "fr_CA",
           "fr_BE", "fr_CH", "it_IT", "es_ES", "es_MX", "nl_NL", "nl_BE", "pt_BR", "pt_PT", "sv_SE", "da_DK",
           "fi_FI", "no_NO", "pl_PL", "cs_CZ", "ja_JP", "zh_CN", "zh_TW", "ko_KR", "ru_RU", "tr_TR"]
LANGUAGES = ["en_US", "en_GB", "de", "fr", "it", "es", "es_MX", "nl_NL", "pt_BR", "sv", "da", "fi", "no",
             "pl", "cs", "ja", "zh_CN", "zh_TW", "ko", "ru", "tr"]
EMAIL_ENCODINGS = ["UTF-8", "ISO-8859-1", "Shift_JIS", "ISO-2022-JP", "EUC-JP", "ks_c_5601-1987", "Big5",
                   "GB2312", "Big5-HKSCS", "x-SJIS_0213"]
_FALLBACK_TIME_ZONES = ["GMT", "America/Los_Angeles", "America/Denver", "America/Chicago", "America/New_York",
                        "America/Sao_Paulo", "Europe/London", "Europe/Dublin", "Europe/Paris", "Europe/Berlin",
                        "Europe/Amsterdam", "Europe/Madrid", "Europe/Rome", "Europe/Stockholm",
                        "Europe/Helsinki", "Europe/Moscow", "Asia/Dubai", "Asia/Kolkata", "Asia/Singapore",
                        "Asia/Shanghai", "Asia/Tokyo", "Australia/Sydney", "Pacific/Auckland"]
_TZ_REGIONS = ("Africa/", "America/", "Asia/", "Atlantic/", "Australia/", "Europe/", "Indian/", "Pacific/")

#: Objects a Task's WhatId may point at (custom objects with activities are added by the schema loader).
TASK_WHAT_TARGETS = ["Account", "Opportunity", "Contract", "Case"]
#: Objects a file may be shared with (custom objects are added by the schema loader).
LINKABLE_TARGETS = ["Account", "Contact", "Lead", "Opportunity", "Contract", "Case", "User"]


def time_zones() -> list[str]:
    """Salesforce's TimeZoneSidKey values are IANA names; use the host's database, or a short list."""
    try:
        names = sorted(n for n in zoneinfo.available_timezones() if n.startswith(_TZ_REGIONS))
    except Exception:  # pragma: no cover - depends on the host's tz database
        names = []
    return ["GMT", *names] if names else list(_FALLBACK_TIME_ZONES)


# -- field builders --------------------------------------------------------------------------------------
_WORD_RE = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+")


def default_label(name: str) -> str:
    """``BillingPostalCode`` -> ``Billing Postal Code``; ``AccountId`` -> ``Account ID``."""
    words = _WORD_RE.findall(name)
    if words and words[-1] == "Id" and len(words) > 1:
        words[-1] = "ID"
    return " ".join(words) or name


def _field(name: str, type_: str, label: str | None = None, **kw: object) -> FieldDef:
    return FieldDef(name=name, type=type_, label=label or default_label(name), **kw)  # type: ignore[arg-type]


def text(name: str, length: int, label: str | None = None, **kw: object) -> FieldDef:
    return _field(name, "string", label, length=length, **kw)


def textarea(name: str, length: int = 32000, label: str | None = None, **kw: object) -> FieldDef:
    kw.setdefault("filterable", length <= 255)
    kw.setdefault("sortable", length <= 255)
    return _field(name, "textarea", label, length=length, **kw)


def email(name: str = "Email", length: int = 80, label: str | None = None, **kw: object) -> FieldDef:
    return _field(name, "email", label, length=length, **kw)


def phone(name: str, label: str | None = None, **kw: object) -> FieldDef:
    return _field(name, "phone", label, length=40, **kw)


def url(name: str, length: int = 255, label: str | None = None, **kw: object) -> FieldDef:
    return _field(name, "url", label, length=length, **kw)


def picklist(name: str, values: Iterable[str], label: str | None = None, *, default: str | None = None,
             restricted: bool = False, length: int = 255, **kw: object) -> FieldDef:
    """A picklist; a default value makes it defaulted on create, as in describe."""
    if default is not None:
        kw.setdefault("defaulted_on_create", True)
    return _field(name, "picklist", label, length=length, picklist_values=list(values), default_value=default,
                  restricted_picklist=restricted, **kw)


def boolean(name: str, label: str | None = None, *, default: bool = False, **kw: object) -> FieldDef:
    """Booleans are never null in Salesforce: not nillable, defaulted on create."""
    return _field(name, "boolean", label, nillable=False, defaulted_on_create=True, default_value=default, **kw)


def integer(name: str, digits: int, label: str | None = None, **kw: object) -> FieldDef:
    """An int field; ``precision`` holds its digits (describe answers them as ``digits``)."""
    return _field(name, "int", label, precision=digits, **kw)


def number(name: str, type_: str = "double", precision: int = 18, scale: int = 0, label: str | None = None,
           **kw: object) -> FieldDef:
    return _field(name, type_, label, precision=precision, scale=scale, **kw)


def date(name: str, label: str | None = None, **kw: object) -> FieldDef:
    return _field(name, "date", label, **kw)


def datetime_(name: str, label: str | None = None, **kw: object) -> FieldDef:
    return _field(name, "datetime", label, **kw)


def reference(name: str, targets: str | list[str], relationship: str, label: str | None = None, *,
              child: str | None = None, **kw: object) -> FieldDef:
    """A lookup: ``relationship`` is the parent name in SOQL, ``child`` the parent's name for the children."""
    return _field(name, "reference", label, length=18, reference_to=[targets] if isinstance(targets, str)
                  else list(targets), relationship_name=relationship, child_relationship_name=child, **kw)


def read_only(field_def: FieldDef, *, defaulted: bool = True) -> FieldDef:
    """Server-set fields: neither createable nor updateable."""
    field_def.createable = False
    field_def.updateable = False
    if defaulted:
        field_def.defaulted_on_create = True
    return field_def


def create_only(field_def: FieldDef) -> FieldDef:
    """Set on insert, fixed afterwards (TaskSubtype, ContentDocumentLink.ContentDocumentId...)."""
    field_def.updateable = False
    return field_def


def required(field_def: FieldDef) -> FieldDef:
    field_def.nillable = False
    return field_def


def address(prefix: str, label_prefix: str | None = None) -> list[FieldDef]:
    """Street/City/State/PostalCode/Country with Salesforce's lengths and labels."""
    lp = f"{label_prefix} " if label_prefix else ""
    return [
        textarea(f"{prefix}Street", 255, f"{lp}Street"),
        text(f"{prefix}City", 40, f"{lp}City"),
        text(f"{prefix}State", 80, f"{lp}State/Province"),
        text(f"{prefix}PostalCode", 20, f"{lp}Zip/Postal Code"),
        text(f"{prefix}Country", 80, f"{lp}Country"),
        number(f"{prefix}Latitude", precision=18, scale=15, label=f"{lp}Latitude"),
        number(f"{prefix}Longitude", precision=18, scale=15, label=f"{lp}Longitude"),
    ]


def system_fields(id_label: str, *, owner: bool = True, audit: bool = True) -> list[FieldDef]:
    """The fields the server keeps on every record (``audit`` false: no Created*/LastModified*)."""
    fields = [
        read_only(_field("Id", "id", id_label, length=18, nillable=False, id_lookup=True)),
        read_only(boolean("IsDeleted", "Deleted")),
    ]
    if audit:
        fields += [
            read_only(datetime_("CreatedDate", nillable=False)),
            read_only(reference("CreatedById", "User", "CreatedBy", nillable=False)),
            read_only(datetime_("LastModifiedDate", nillable=False)),
            read_only(reference("LastModifiedById", "User", "LastModifiedBy", nillable=False)),
        ]
    fields.append(read_only(datetime_("SystemModstamp", nillable=False)))
    if owner:
        fields.append(reference("OwnerId", "User", "Owner", "Owner ID", nillable=False, defaulted_on_create=True))
    return fields


def make_object(name: str, key_prefix: str, label: str, label_plural: str, fields: list[FieldDef], *,
                owner: bool = True, audit: bool = True, id_label: str | None = None, **kw: object) -> ObjectDef:
    """An object with its system fields first, then ``fields`` in the order given."""
    all_fields = system_fields(id_label or f"{label} ID", owner=owner, audit=audit) + fields
    return ObjectDef(name=name, key_prefix=key_prefix, label=label, label_plural=label_plural,
                     fields={f.name: f for f in all_fields}, **kw)  # type: ignore[arg-type]


def _name_parts() -> list[FieldDef]:
    return [
        required(text("LastName", 80, "Last Name")),
        text("FirstName", 40, "First Name"),
        picklist("Salutation", SALUTATIONS, length=40),
        read_only(text("Name", 121, "Full Name", nillable=False, name_field=True)),
    ]


# -- objects ---------------------------------------------------------------------------------------------
def _user() -> ObjectDef:
    return make_object("User", "005", "User", "Users", [
        required(text("Username", 80, unique=True, id_lookup=True)),
        *_name_parts()[:2],
        read_only(text("Name", 121, "Full Name", nillable=False, name_field=True)),
        required(text("Alias", 8, defaulted_on_create=True)),
        required(email("Email", 128)),
        text("CommunityNickname", 40, "Nickname", unique=True, id_lookup=True),
        boolean("IsActive", "Active", default=True),
        required(picklist("TimeZoneSidKey", time_zones(), "Time Zone", default="America/Los_Angeles",
                          restricted=True, length=40)),
        required(picklist("LocaleSidKey", LOCALES, "Locale", default="en_US", restricted=True, length=40)),
        required(picklist("EmailEncodingKey", EMAIL_ENCODINGS, "Email Encoding", default="UTF-8",
                          restricted=True, length=40)),
        required(picklist("LanguageLocaleKey", LANGUAGES, "Language", default="en_US", restricted=True,
                          length=40)),
        text("Title", 80),
        text("CompanyName", 80, "Company Name"),
        text("Department", 80),
        text("Division", 80),
        phone("Phone"),
        phone("MobilePhone", "Mobile"),
        phone("Fax"),
        *address("")[:5],
        reference("ManagerId", "User", "Manager", child="ManagedUsers"),
        text("EmployeeNumber", 20, "Employee Number"),
        text("FederationIdentifier", 512, "SAML Federation ID", id_lookup=True),
        read_only(picklist("UserType", ["Standard", "PowerPartner", "CsnOnly", "Guest"], "User Type",
                           length=40, default="Standard")),
        read_only(datetime_("LastLoginDate", "Last Login"), defaulted=False),
    ], owner=False)


def _account() -> ObjectDef:
    return make_object("Account", "001", "Account", "Accounts", [
        required(text("Name", 255, "Account Name", name_field=True)),
        picklist("Type", ACCOUNT_TYPES, "Account Type"),
        reference("ParentId", "Account", "Parent", "Parent Account ID", child="ChildAccounts"),
        *address("Billing", "Billing"),
        *address("Shipping", "Shipping"),
        phone("Phone", "Account Phone"),
        phone("Fax", "Account Fax"),
        text("AccountNumber", 40, "Account Number"),
        url("Website"),
        text("Sic", 20, "SIC Code"),
        picklist("Industry", INDUSTRIES),
        number("AnnualRevenue", "currency", 18, 0, "Annual Revenue"),
        integer("NumberOfEmployees", 8, "Employees"),
        picklist("Ownership", ["Public", "Private", "Subsidiary", "Other"]),
        text("TickerSymbol", 20, "Ticker Symbol"),
        textarea("Description", 32000, "Account Description"),
        picklist("Rating", RATINGS, "Account Rating"),
        text("Site", 80, "Account Site"),
        picklist("AccountSource", LEAD_SOURCES, "Account Source"),
        read_only(date("LastActivityDate", "Last Activity"), defaulted=False),
    ])


def _contact() -> ObjectDef:
    return make_object("Contact", "003", "Contact", "Contacts", [
        reference("AccountId", "Account", "Account", child="Contacts", cascade_delete=True),
        *_name_parts(),
        *address("Other", "Other"),
        *address("Mailing", "Mailing"),
        phone("Phone", "Business Phone"),
        phone("Fax", "Business Fax"),
        phone("MobilePhone", "Mobile Phone"),
        phone("HomePhone", "Home Phone"),
        phone("OtherPhone", "Other Phone"),
        phone("AssistantPhone", "Asst. Phone"),
        reference("ReportsToId", "Contact", "ReportsTo", "Reports To ID"),
        email("Email", id_lookup=True),
        text("Title", 128),
        text("Department", 80),
        text("AssistantName", 40, "Assistant's Name"),
        picklist("LeadSource", LEAD_SOURCES, "Lead Source"),
        date("Birthdate"),
        textarea("Description", 32000, "Contact Description"),
        boolean("HasOptedOutOfEmail", "Email Opt Out"),
        boolean("HasOptedOutOfFax", "Fax Opt Out"),
        boolean("DoNotCall", "Do Not Call"),
        read_only(date("LastActivityDate", "Last Activity"), defaulted=False),
    ])


def _lead() -> ObjectDef:
    return make_object("Lead", "00Q", "Lead", "Leads", [
        *_name_parts(),
        text("Title", 128),
        required(text("Company", 255)),
        *address(""),
        phone("Phone"),
        phone("MobilePhone", "Mobile Phone"),
        phone("Fax"),
        email("Email", id_lookup=True),
        url("Website"),
        textarea("Description", 32000),
        picklist("LeadSource", LEAD_SOURCES, "Lead Source"),
        required(picklist("Status", LEAD_STATUSES, "Lead Status", default="Open - Not Contacted",
                          restricted=True)),
        picklist("Industry", INDUSTRIES),
        picklist("Rating", RATINGS),
        number("AnnualRevenue", "currency", 18, 0, "Annual Revenue"),
        integer("NumberOfEmployees", 8, "Employees"),
        boolean("HasOptedOutOfEmail", "Email Opt Out"),
        boolean("HasOptedOutOfFax", "Fax Opt Out"),
        boolean("DoNotCall", "Do Not Call"),
        read_only(boolean("IsConverted", "Converted")),
        read_only(date("ConvertedDate", "Converted Date"), defaulted=False),
        read_only(reference("ConvertedAccountId", "Account", "ConvertedAccount", "Converted Account ID"),
                  defaulted=False),
        read_only(reference("ConvertedContactId", "Contact", "ConvertedContact", "Converted Contact ID"),
                  defaulted=False),
        read_only(reference("ConvertedOpportunityId", "Opportunity", "ConvertedOpportunity",
                            "Converted Opportunity ID"), defaulted=False),
        boolean("IsUnreadByOwner", "Unread By Owner"),
        read_only(date("LastActivityDate", "Last Activity"), defaulted=False),
    ])


def _opportunity() -> ObjectDef:
    return make_object("Opportunity", "006", "Opportunity", "Opportunities", [
        reference("AccountId", "Account", "Account", child="Opportunities", cascade_delete=True),
        reference("ContactId", "Contact", "Contact", child="Opportunities"),
        reference("ContractId", "Contract", "Contract"),
        required(text("Name", 120, name_field=True)),
        textarea("Description", 32000),
        required(picklist("StageName", list(OPPORTUNITY_STAGES), "Stage", restricted=True)),
        number("Amount", "currency", 18, 2),
        number("Probability", "percent", 3, 0, "Probability (%)", defaulted_on_create=True),
        read_only(number("ExpectedRevenue", "currency", 18, 2, "Expected Amount"), defaulted=False),
        number("TotalOpportunityQuantity", "double", 18, 2, "Quantity"),
        required(date("CloseDate", "Close Date")),
        picklist("Type", OPPORTUNITY_TYPES, "Opportunity Type"),
        text("NextStep", 255, "Next Step"),
        picklist("LeadSource", LEAD_SOURCES, "Lead Source"),
        read_only(boolean("IsClosed", "Closed")),
        read_only(boolean("IsWon", "Won")),
        read_only(picklist("ForecastCategory", list(FORECAST_CATEGORIES.values()), "Forecast Category",
                           length=40, restricted=True, nillable=False), defaulted=True),
        required(picklist("ForecastCategoryName", list(FORECAST_CATEGORIES), "Forecast Category",
                          restricted=True, defaulted_on_create=True)),
        read_only(boolean("HasOpportunityLineItem", "Has Line Item")),
        read_only(text("Fiscal", 6, "Fiscal Period"), defaulted=False),
        read_only(integer("FiscalQuarter", 8, "Fiscal Quarter"), defaulted=False),
        read_only(integer("FiscalYear", 8, "Fiscal Year"), defaulted=False),
        read_only(date("LastActivityDate", "Last Activity"), defaulted=False),
    ])


def _contract() -> ObjectDef:
    return make_object("Contract", "800", "Contract", "Contracts", [
        required(reference("AccountId", "Account", "Account", child="Contracts", cascade_delete=True)),
        *address("Billing", "Billing"),
        *address("Shipping", "Shipping"),
        required(picklist("Status", CONTRACT_STATUSES, default="Draft", restricted=True)),
        read_only(picklist("StatusCode", ["Draft", "InApproval", "Activated", "Terminated", "Expired"],
                           "Status Category", restricted=True, nillable=False)),
        date("StartDate", "Contract Start Date"),
        read_only(date("EndDate", "Contract End Date"), defaulted=False),
        integer("ContractTerm", 4, "Contract Term"),
        read_only(text("ContractNumber", 30, "Contract Number", nillable=False, name_field=True, id_lookup=True,
                       auto_number_format="{00000000}", auto_number_start=100)),
        picklist("OwnerExpirationNotice", ["15", "30", "45", "60", "90", "120"], "Owner Expiration Notice",
                 length=40),
        textarea("SpecialTerms", 4000, "Special Terms"),
        textarea("Description", 32000),
        reference("CustomerSignedId", "Contact", "CustomerSigned", "Customer Signed By ID"),
        text("CustomerSignedTitle", 40, "Customer Signed Title"),
        date("CustomerSignedDate", "Customer Signed Date"),
        reference("CompanySignedId", "User", "CompanySigned", "Company Signed By ID"),
        date("CompanySignedDate", "Company Signed Date"),
        read_only(datetime_("ActivatedDate", "Activated Date"), defaulted=False),
        read_only(reference("ActivatedById", "User", "ActivatedBy", "Activated By ID"), defaulted=False),
        read_only(date("LastActivityDate", "Last Activity"), defaulted=False),
    ])


def _case() -> ObjectDef:
    return make_object("Case", "500", "Case", "Cases", [
        read_only(text("CaseNumber", 30, "Case Number", nillable=False, name_field=True, id_lookup=True,
                       auto_number_format="{00000000}", auto_number_start=1001)),
        reference("ContactId", "Contact", "Contact", child="Cases"),
        reference("AccountId", "Account", "Account", child="Cases", cascade_delete=True),
        reference("ParentId", "Case", "Parent", "Parent Case ID", child="Cases"),
        text("SuppliedName", 80, "Web Name"),
        email("SuppliedEmail", label="Web Email"),
        phone("SuppliedPhone", "Web Phone"),
        text("SuppliedCompany", 80, "Web Company"),
        picklist("Type", ["Mechanical", "Electrical", "Electronic", "Structural", "Other"], "Case Type"),
        picklist("Status", CASE_STATUSES, default="New", restricted=True),
        picklist("Reason", ["Installation", "Equipment Complexity", "Performance", "Breakdown",
                            "Equipment Design", "Feedback", "Other"], "Case Reason"),
        picklist("Origin", ["Phone", "Email", "Web"], "Case Origin"),
        text("Subject", 255),
        picklist("Priority", ["High", "Medium", "Low"], default="Medium"),
        textarea("Description", 32000),
        read_only(boolean("IsClosed", "Closed")),
        read_only(datetime_("ClosedDate", "Closed Date"), defaulted=False),
        boolean("IsEscalated", "Escalated"),
        textarea("Comments", 4000, "Internal Comments"),
    ])


def _task() -> ObjectDef:
    return make_object("Task", "00T", "Task", "Tasks", [
        reference("WhoId", ["Contact", "Lead"], "Who", "Name ID", child="Tasks", cascade_delete=True),
        reference("WhatId", list(TASK_WHAT_TARGETS), "What", "Related To ID", child="Tasks",
                  cascade_delete=True),
        _field("Subject", "combobox", length=255, name_field=True,
               picklist_values=["Call", "Email", "Send Letter", "Send Quote", "Other"]),
        date("ActivityDate", "Due Date Only"),
        required(picklist("Status", TASK_STATUSES, default="Not Started", restricted=True, length=40)),
        required(picklist("Priority", TASK_PRIORITIES, default="Normal", restricted=True, length=40)),
        read_only(boolean("IsHighPriority", "High Priority")),
        textarea("Description", 32000),
        picklist("Type", ["Call", "Email", "Meeting", "Other"], length=40),
        read_only(boolean("IsClosed", "Closed")),
        read_only(reference("AccountId", "Account", "Account"), defaulted=False),
        create_only(picklist("TaskSubtype", ["Task", "Email", "ListEmail", "Cadence", "Call", "LinkedIn"],
                             "Task Subtype", default="Task", restricted=True, length=40)),
        integer("CallDurationInSeconds", 8, "Call Duration"),
        picklist("CallType", ["Internal", "Inbound", "Outbound"], "Call Type", restricted=True, length=40),
        text("CallDisposition", 255, "Call Result"),
        boolean("IsReminderSet", "Reminder Set"),
        datetime_("ReminderDateTime", "Reminder Date/Time"),
        read_only(datetime_("CompletedDateTime", "Completed Date/Time"), defaulted=False),
    ], id_label="Activity ID")


def _content_version() -> ObjectDef:
    return make_object("ContentVersion", "068", "Content Version", "Content Versions", [
        create_only(reference("ContentDocumentId", "ContentDocument", "ContentDocument", "ContentDocument ID",
                              child="ContentVersions", cascade_delete=True)),
        required(text("Title", 255, name_field=True, defaulted_on_create=True)),
        textarea("Description", 1000),
        create_only(text("PathOnClient", 500, "Path On Client")),
        create_only(_field("VersionData", "base64", "Version Data", filterable=False, sortable=False)),
        read_only(integer("ContentSize", 9, "Size"), defaulted=False),
        read_only(text("FileType", 20, "File Type"), defaulted=False),
        read_only(text("FileExtension", 40, "File Extension"), defaulted=False),
        read_only(boolean("IsLatest", "Is Latest", default=True)),
        read_only(text("VersionNumber", 20, "Version Number"), defaulted=False),
        text("ReasonForChange", 1000, "Reason For Change"),
        create_only(reference("FirstPublishLocationId", list(LINKABLE_TARGETS), "FirstPublishLocation",
                              "First Publish Location ID")),
        create_only(picklist("ContentLocation", ["S", "E", "L"], "Content Location", default="S",
                             restricted=True, length=40)),
        create_only(picklist("Origin", ["C", "H"], "Content Origin", default="C", restricted=True, length=40)),
        create_only(url("ContentUrl", 1333, "Content URL")),
        read_only(text("Checksum", 50), defaulted=False),
        read_only(picklist("PublishStatus", ["U", "P", "R"], "Publish Status", restricted=True, length=40,
                           nillable=False)),
        picklist("SharingOption", ["A", "R"], "Prevent others from sharing and unsharing", default="A",
                 restricted=True, length=40),
        picklist("SharingPrivacy", ["N", "P"], "File Privacy on Records", default="N", restricted=True,
                 length=40),
        read_only(datetime_("ContentModifiedDate", "Content Modified Date"), defaulted=True),
    ], deletable=False, id_label="ContentVersion ID")  # delete() is not a supported call: delete the document


def _content_document() -> ObjectDef:
    return make_object("ContentDocument", "069", "Content Document", "Content Documents", [
        text("Title", 255, nillable=False, name_field=True),
        textarea("Description", 1000),
        read_only(reference("LatestPublishedVersionId", "ContentVersion", "LatestPublishedVersion",
                            "Latest Published Version ID"), defaulted=False),
        read_only(integer("ContentSize", 9, "Size"), defaulted=False),
        read_only(text("FileType", 20, "File Type"), defaulted=False),
        read_only(text("FileExtension", 40, "File Extension"), defaulted=False),
        read_only(picklist("PublishStatus", ["U", "P", "R"], "Publish Status", restricted=True, length=40,
                           nillable=False)),
        read_only(boolean("IsArchived", "Is Archived")),
        read_only(datetime_("ArchivedDate", "Archived Date"), defaulted=False),
        read_only(datetime_("ContentModifiedDate", "Content Modified Date"), defaulted=True),
        picklist("SharingOption", ["A", "R"], "Prevent others from sharing and unsharing", default="A",
                 restricted=True, length=40),
        picklist("SharingPrivacy", ["N", "P"], "File Privacy on Records", default="N", restricted=True,
                 length=40),
    ], createable=False, id_label="ContentDocument ID")


def _content_document_link() -> ObjectDef:
    return make_object("ContentDocumentLink", "06A", "Content Document Link", "Content Document Links", [
        required(create_only(reference("ContentDocumentId", "ContentDocument", "ContentDocument",
                                       "ContentDocument ID", child="ContentDocumentLinks", cascade_delete=True))),
        required(create_only(reference("LinkedEntityId", list(LINKABLE_TARGETS), "LinkedEntity",
                                       "Linked Entity ID", child="ContentDocumentLinks", cascade_delete=True))),
        required(picklist("ShareType", ["V", "C", "I"], "Share Type", default="V", restricted=True,
                          length=40)),
        required(picklist("Visibility", ["AllUsers", "InternalUsers", "SharedUsers"], default="AllUsers",
                          restricted=True, length=40)),
    ], owner=False, audit=False, id_label="ContentDocumentLink ID")


def standard_schema() -> Schema:
    """A fresh schema with the standard objects; each call builds new definitions (safe to extend)."""
    return Schema([
        _user(), _account(), _contact(), _lead(), _opportunity(), _contract(), _case(), _task(),
        _content_version(), _content_document(), _content_document_link(),
    ])
