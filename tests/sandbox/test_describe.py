"""describeGlobal and sObject describe answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from salesbridge.sandbox.describe import MASTER_RECORD_TYPE_ID, describe_global, describe_object
from salesbridge.sandbox.org import Org, OrgSettings
from salesbridge.sandbox.schema.loader import load_schema_file
from salesbridge.sandbox.schema.standard import standard_schema
from salesbridge.sandbox.store import Store

EXAMPLE = Path(__file__).resolve().parents[2] / "salesbridge" / "sandbox" / "schema" / "example_schema.yaml"
CONTRACTS = Path(__file__).resolve().parents[2] / "salesbridge" / "flows" / "contracts" / "sandbox_schema.yaml"

FIELD_KEYS = {
    "aggregatable", "aiPredictionField", "autoNumber", "byteLength", "calculated", "calculatedFormula",
    "cascadeDelete", "caseSensitive", "compoundFieldName", "controllerName", "createable", "custom", "defaultValue",
    "defaultValueFormula", "defaultedOnCreate", "dependentPicklist", "deprecatedAndHidden", "digits",
    "displayLocationInDecimal", "encrypted", "externalId", "extraTypeInfo", "filterable", "filteredLookupInfo",
    "formulaTreatNullNumberAsZero", "groupable", "highScaleNumber", "htmlFormatted", "idLookup", "inlineHelpText",
    "label", "length", "mask", "maskType", "name", "nameField", "namePointing", "nillable", "permissionable",
    "picklistValues", "polymorphicForeignKey", "precision", "queryByDistance", "referenceTargetField",
    "referenceTo", "relationshipName", "relationshipOrder", "restrictedDelete", "restrictedPicklist", "scale",
    "searchPrefilterable", "soapType", "sortable", "type", "unique", "updateable", "writeRequiresMasterRead",
}


@pytest.fixture
def org() -> Org:
    schema = standard_schema()
    load_schema_file(EXAMPLE, schema)
    load_schema_file(CONTRACTS, schema)
    return Org(schema, Store(":memory:"), OrgSettings(api_version="61.0"))


def fields_of(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {field["name"]: field for field in answer["fields"]}


def test_describe_global_lists_every_object(org: Org) -> None:
    answer = describe_global(org)
    assert (answer["encoding"], answer["maxBatchSize"]) == ("UTF-8", 200)
    names = [entry["name"] for entry in answer["sobjects"]]
    assert names == sorted(names, key=str.lower)
    assert {"Account", "Contact", "Lead", "Opportunity", "Contract", "Task", "Case", "User", "ContentVersion",
            "ContentDocument", "ContentDocumentLink", "Contract_Request__c"} <= set(names)
    entries = {entry["name"]: entry for entry in answer["sobjects"]}
    account = entries["Account"]
    assert (account["keyPrefix"], account["label"], account["labelPlural"], account["custom"]) == (
        "001", "Account", "Accounts", False)
    assert account["createable"] and account["updateable"] and account["deletable"] and account["queryable"]
    assert account["urls"]["sobject"] == "/services/data/v61.0/sobjects/Account"
    assert account["urls"]["describe"] == "/services/data/v61.0/sobjects/Account/describe"
    assert account["urls"]["rowTemplate"] == "/services/data/v61.0/sobjects/Account/{ID}"
    assert entries["ContentDocument"]["createable"] is False
    custom = entries["Contract_Request__c"]
    assert (custom["custom"], custom["keyPrefix"], custom["labelPlural"]) == (True, "a01", "Contract Requests")
    json.dumps(answer)


def test_describe_global_follows_the_requested_version(org: Org) -> None:
    answer = describe_global(org, api_version="58.0")
    assert answer["sobjects"][0]["urls"]["sobject"].startswith("/services/data/v58.0/sobjects/")


def test_describe_object_shape(org: Org) -> None:
    answer = describe_object(org, org.schema.get("Account"))
    assert (answer["name"], answer["label"], answer["keyPrefix"], answer["custom"]) == (
        "Account", "Account", "001", False)
    assert answer["recordTypeInfos"] == [{
        "active": True, "available": True, "defaultRecordTypeMapping": True, "developerName": "Master",
        "master": True, "name": "Master", "recordTypeId": MASTER_RECORD_TYPE_ID,
        "urls": {"layout": f"/services/data/v61.0/sobjects/Account/describe/layouts/{MASTER_RECORD_TYPE_ID}"}}]
    assert answer["urls"]["describe"] == "/services/data/v61.0/sobjects/Account/describe"
    for field in answer["fields"]:
        assert set(field) == FIELD_KEYS, field["name"]
    assert [f["name"] for f in answer["fields"]][:2] == ["Id", "IsDeleted"]
    json.dumps(answer)


def test_field_properties_come_from_the_schema(org: Org) -> None:
    fields = fields_of(describe_object(org, org.schema.get("Account")))
    name = fields["Name"]
    assert (name["type"], name["length"], name["byteLength"], name["soapType"]) == ("string", 255, 765, "xsd:string")
    assert (name["nillable"], name["createable"], name["updateable"], name["nameField"]) == (False, True, True, True)
    assert name["label"] == "Account Name"
    identifier = fields["Id"]
    assert (identifier["type"], identifier["soapType"], identifier["idLookup"], identifier["createable"]) == (
        "id", "tns:ID", True, False)
    created = fields["CreatedDate"]
    assert (created["type"], created["soapType"], created["createable"], created["defaultedOnCreate"]) == (
        "datetime", "xsd:dateTime", False, True)
    revenue = fields["AnnualRevenue"]
    assert (revenue["type"], revenue["precision"], revenue["scale"], revenue["soapType"]) == (
        "currency", 18, 0, "xsd:double")
    employees = fields["NumberOfEmployees"]
    assert (employees["type"], employees["digits"], employees["precision"], employees["soapType"]) == (
        "int", 8, 0, "xsd:int")
    parent = fields["ParentId"]
    assert (parent["referenceTo"], parent["relationshipName"], parent["soapType"]) == (
        ["Account"], "Parent", "tns:ID")
    owner = fields["OwnerId"]
    assert (owner["referenceTo"], owner["relationshipName"], owner["defaultedOnCreate"], owner["nillable"]) == (
        ["User"], "Owner", True, False)
    assert fields["Description"]["extraTypeInfo"] == "plaintextarea"
    hub = fields["Hub_Id__c"]
    assert (hub["custom"], hub["externalId"], hub["unique"], hub["idLookup"], hub["length"]) == (
        True, True, True, True, 64)


def test_picklists_and_booleans(org: Org) -> None:
    fields = fields_of(describe_object(org, org.schema.get("Lead")))
    status = fields["Status"]
    assert (status["type"], status["restrictedPicklist"], status["defaultedOnCreate"], status["nillable"]) == (
        "picklist", True, True, False)
    assert status["picklistValues"][0] == {"active": True, "defaultValue": True, "label": "Open - Not Contacted",
                                           "validFor": None, "value": "Open - Not Contacted"}
    assert [v["value"] for v in status["picklistValues"] if v["defaultValue"]] == ["Open - Not Contacted"]
    assert fields["Industry"]["restrictedPicklist"] is False
    converted = fields["IsConverted"]
    assert (converted["type"], converted["defaultValue"], converted["soapType"], converted["createable"]) == (
        "boolean", False, "xsd:boolean", False)
    assert fields["ConvertedAccountId"]["relationshipName"] == "ConvertedAccount"
    assert fields["Name"]["createable"] is False and fields["LastName"]["nillable"] is False


def test_polymorphic_lookups(org: Org) -> None:
    fields = fields_of(describe_object(org, org.schema.get("Task")))
    who = fields["WhoId"]
    assert (who["referenceTo"], who["relationshipName"], who["polymorphicForeignKey"], who["namePointing"]) == (
        ["Contact", "Lead"], "Who", True, True)
    what = fields["WhatId"]
    assert what["relationshipName"] == "What" and "Contract_Request__c" in what["referenceTo"]
    assert fields["Subject"]["type"] == "combobox" and fields["Subject"]["picklistValues"]


def test_child_relationships(org: Org) -> None:
    answer = describe_object(org, org.schema.get("Account"))
    named = {(r["childSObject"], r["field"]): r for r in answer["childRelationships"]}
    contacts = named[("Contact", "AccountId")]
    assert contacts == {"cascadeDelete": True, "childSObject": "Contact", "deprecatedAndHidden": False,
                        "field": "AccountId", "junctionIdListNames": [], "junctionReferenceTo": [],
                        "relationshipName": "Contacts", "restrictedDelete": False}
    assert named[("Opportunity", "AccountId")]["relationshipName"] == "Opportunities"
    assert named[("Task", "WhatId")]["relationshipName"] == "Tasks"
    assert named[("Contract_Request__c", "Account__c")]["relationshipName"] == "Contract_Requests__r"
    assert named[("Lead", "ConvertedAccountId")]["relationshipName"] is None
    opportunity = describe_object(org, org.schema.get("Opportunity"))
    assert any(r["relationshipName"] == "Contract_Requests__r" for r in opportunity["childRelationships"])


def test_custom_object_describe(org: Org) -> None:
    answer = describe_object(org, org.schema.get("Contract_Request__c"))
    assert (answer["name"], answer["custom"], answer["label"], answer["labelPlural"]) == (
        "Contract_Request__c", True, "Contract Request", "Contract Requests")
    fields = fields_of(answer)
    name = fields["Name"]
    assert (name["autoNumber"], name["createable"], name["nameField"], name["defaultedOnCreate"]) == (
        True, False, True, True)
    status = fields["Status__c"]
    assert (status["custom"], status["restrictedPicklist"], status["nillable"]) == (True, True, False)
    assert [v["value"] for v in status["picklistValues"] if v["defaultValue"]] == ["Draft"]
    lookup = fields["Opportunity__c"]
    assert (lookup["referenceTo"], lookup["relationshipName"], lookup["custom"]) == (
        ["Opportunity"], "Opportunity__r", True)
    term = fields["Term_Months__c"]
    assert (term["type"], term["precision"], term["scale"]) == ("double", 3, 0)


def test_content_document_link_has_no_owner_or_audit_fields(org: Org) -> None:
    fields = fields_of(describe_object(org, org.schema.get("ContentDocumentLink")))
    assert set(fields) >= {"Id", "ContentDocumentId", "LinkedEntityId", "ShareType", "Visibility", "IsDeleted",
                           "SystemModstamp"}
    assert "OwnerId" not in fields and "CreatedDate" not in fields
    assert fields["ShareType"]["restrictedPicklist"] and fields["LinkedEntityId"]["polymorphicForeignKey"]
    assert fields["ContentDocumentId"]["updateable"] is False
