"""The standard schema and the YAML schema-file loader."""

from __future__ import annotations

from pathlib import Path

import pytest

from salesbridge.sandbox.schema.loader import SchemaFileError, load_schema_file
from salesbridge.sandbox.schema.standard import standard_schema

EXAMPLE = Path(__file__).resolve().parents[2] / "salesbridge" / "sandbox" / "schema" / "example_schema.yaml"
CONTRACTS = Path(__file__).resolve().parents[2] / "salesbridge" / "flows" / "contracts" / "sandbox_schema.yaml"

SYSTEM_FIELDS = ("Id", "IsDeleted", "CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById",
                 "SystemModstamp")


# -- standard objects ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "prefix"), [
    ("User", "005"), ("Account", "001"), ("Contact", "003"), ("Lead", "00Q"), ("Opportunity", "006"),
    ("Contract", "800"), ("Task", "00T"), ("Case", "500"), ("ContentVersion", "068"),
    ("ContentDocument", "069"), ("ContentDocumentLink", "06A"),
])
def test_standard_objects_have_salesforce_key_prefixes(name: str, prefix: str) -> None:
    schema = standard_schema()
    assert schema.get(name.lower()).key_prefix == prefix
    assert schema.by_prefix(prefix).name == name


@pytest.mark.parametrize("name", ["User", "Account", "Contact", "Lead", "Opportunity", "Contract", "Task", "Case",
                                  "ContentVersion", "ContentDocument"])
def test_system_fields_are_present_and_read_only(name: str) -> None:
    object_def = standard_schema().get(name)
    for field_name in SYSTEM_FIELDS:
        field_def = object_def.field(field_name)
        assert field_def is not None, field_name
        assert not field_def.createable and not field_def.updateable
    assert object_def.field("Id").type == "id"
    assert object_def.field("CreatedById").relationship_name == "CreatedBy"
    assert object_def.field("LastModifiedById").reference_to == ["User"]


def test_owner_is_a_user_lookup_where_salesforce_has_one() -> None:
    schema = standard_schema()
    for name in ("Account", "Contact", "Lead", "Opportunity", "Contract", "Task", "Case", "ContentVersion"):
        owner = schema.get(name).field("OwnerId")
        assert owner.reference_to == ["User"] and owner.relationship_name == "Owner"
        assert owner.createable and owner.defaulted_on_create
    assert schema.get("User").field("OwnerId") is None
    link = schema.get("ContentDocumentLink")
    assert link.field("OwnerId") is None and link.field("CreatedDate") is None
    assert link.field("SystemModstamp") is not None and link.field("IsDeleted") is not None


def test_required_fields_follow_salesforce() -> None:
    schema = standard_schema()

    def required(name: str) -> set[str]:
        return {f.name for f in schema.get(name).fields.values() if f.required_on_create}

    assert required("Account") == {"Name"}
    assert required("Contact") == {"LastName"}
    assert required("Lead") == {"LastName", "Company"}
    assert required("Opportunity") == {"Name", "StageName", "CloseDate"}
    assert required("Contract") == {"AccountId"}
    assert required("User") == {"Username", "LastName", "Email"}
    assert required("Task") == set()


def test_picklists_carry_standard_values_defaults_and_restriction() -> None:
    schema = standard_schema()
    status = schema.get("Lead").field("Status")
    assert status.picklist_values == ["Open - Not Contacted", "Working - Contacted", "Closed - Converted",
                                      "Closed - Not Converted"]
    assert status.default_value == "Open - Not Contacted" and status.restricted_picklist
    assert status.defaulted_on_create and not status.required_on_create
    stage = schema.get("Opportunity").field("StageName")
    assert stage.label == "Stage" and stage.restricted_picklist
    assert stage.picklist_values[0] == "Prospecting" and stage.picklist_values[-2:] == ["Closed Won", "Closed Lost"]
    assert "Id. Decision Makers" in stage.picklist_values
    task = schema.get("Task")
    assert task.field("Status").default_value == "Not Started"
    assert task.field("Priority").picklist_values == ["High", "Normal", "Low"]
    assert task.field("Priority").default_value == "Normal"
    assert task.field("Subject").type == "combobox"
    assert schema.get("Contract").field("Status").picklist_values == ["Draft", "In Approval Process", "Activated"]
    assert schema.get("ContentDocumentLink").field("ShareType").picklist_values == ["V", "C", "I"]
    assert not schema.get("Account").field("Industry").restricted_picklist


def test_relationships_and_child_relationships_are_named_as_salesforce_names_them() -> None:
    schema = standard_schema()
    contact = schema.get("Contact")
    assert contact.parent_relationship("account").name == "AccountId"
    assert contact.field("Name").type == "string" and not contact.field("Name").createable
    task = schema.get("Task")
    assert task.field("WhoId").reference_to == ["Contact", "Lead"] and task.field("WhoId").is_polymorphic
    assert task.parent_relationship("What").name == "WhatId"
    lead = schema.get("Lead")
    assert lead.field("ConvertedAccountId").relationship_name == "ConvertedAccount"
    assert not lead.field("IsConverted").createable and not lead.field("ConvertedOpportunityId").updateable
    account_children = {r.relationship_name: (r.child_object, r.field) for r in schema.child_relationships("Account")}
    assert account_children["Contacts"] == ("Contact", "AccountId")
    assert account_children["Opportunities"] == ("Opportunity", "AccountId")
    assert account_children["Cases"] == ("Case", "AccountId")
    assert account_children["Contracts"] == ("Contract", "AccountId")
    assert account_children["Tasks"] == ("Task", "WhatId")
    assert account_children["ContentDocumentLinks"] == ("ContentDocumentLink", "LinkedEntityId")
    assert account_children["ChildAccounts"] == ("Account", "ParentId")
    assert schema.child_relationship("Contact", "tasks").field == "WhoId"
    assert schema.child_relationship("ContentDocument", "ContentVersions").child_object == "ContentVersion"


def test_field_types_and_lengths() -> None:
    schema = standard_schema()
    account = schema.get("Account")
    assert (account.field("Name").type, account.field("Name").length) == ("string", 255)
    assert account.field("AnnualRevenue").type == "currency"
    assert (account.field("NumberOfEmployees").type, account.field("NumberOfEmployees").precision) == ("int", 8)
    assert account.field("Description").type == "textarea"
    assert account.field("BillingState").label == "Billing State/Province"
    opportunity = schema.get("Opportunity")
    assert (opportunity.field("Amount").precision, opportunity.field("Amount").scale) == (18, 2)
    assert opportunity.field("Probability").type == "percent"
    assert not opportunity.field("IsWon").createable
    assert schema.get("ContentVersion").field("VersionData").type == "base64"
    assert schema.get("ContentDocument").createable is False
    assert schema.get("Contract").field("ContractNumber").auto_number
    assert schema.get("User").field("Username").unique


def test_each_call_builds_an_independent_schema() -> None:
    first, second = standard_schema(), standard_schema()
    first.get("Task").field("WhatId").reference_to.append("Thing__c")
    assert "Thing__c" not in second.get("Task").field("WhatId").reference_to


# -- schema files ----------------------------------------------------------------------------------------
def test_example_and_contracts_schemas_add_a_custom_object_and_custom_fields() -> None:
    schema = standard_schema()
    load_schema_file(EXAMPLE, schema)
    load_schema_file(CONTRACTS, schema)
    request = schema.get("contract_request__c")
    assert (request.name, request.key_prefix, request.custom) == ("Contract_Request__c", "a01", True)
    assert (request.label, request.label_plural) == ("Contract Request", "Contract Requests")
    for field_name in (*SYSTEM_FIELDS, "OwnerId", "Name"):
        assert request.field(field_name) is not None, field_name
    name = request.field("Name")
    assert name.auto_number and name.auto_number_format == "CR-{00000}" and not name.createable
    status = request.field("Status__c")
    assert status.restricted_picklist and status.default_value == "Draft" and status.custom
    opportunity = request.field("Opportunity__c")
    assert (opportunity.type, opportunity.reference_to, opportunity.relationship_name) == (
        "reference", ["Opportunity"], "Opportunity__r")
    assert schema.child_relationship("Opportunity", "Contract_Requests__r").field == "Opportunity__c"
    for standard in ("Account", "Contact", "Lead"):
        hub_id = schema.get(standard).field("Hub_Id__c")
        assert hub_id.external_id and hub_id.unique and hub_id.custom and hub_id.length == 64
    assert "Contract_Request__c" in schema.get("Task").field("WhatId").reference_to
    assert "Contract_Request__c" in schema.get("ContentDocumentLink").field("LinkedEntityId").reference_to


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "schema.yaml"
    path.write_text(text)
    return path


def test_defaults_of_a_minimal_custom_object(tmp_path: Path) -> None:
    schema = standard_schema()
    load_schema_file(write(tmp_path, "objects:\n  Deal_Registration__c: {}\n  Renewal__c:\n    fields: {}\n"),
                     schema)
    deal = schema.get("Deal_Registration__c")
    assert (deal.label, deal.label_plural, deal.key_prefix) == ("Deal Registration", "Deal Registrations", "a01")
    assert schema.get("Renewal__c").key_prefix == "a02"
    name = deal.field("Name")
    assert (name.type, name.length, name.nillable, name.name_field) == ("string", 80, False, True)
    assert name.required_on_create and name.label == "Deal Registration Name"


def test_master_detail_is_required_cascades_and_removes_owner(tmp_path: Path) -> None:
    schema = standard_schema()
    load_schema_file(write(tmp_path, """
objects:
  Line__c:
    fields:
      Request__c: {type: master_detail, reference_to: Request__c}
      Quantity__c: {type: number, precision: 5, scale: 2}
      Signed__c: {type: checkbox}
  Request__c: {}
"""), schema)
    line = schema.get("Line__c")
    master = line.field("Request__c")
    assert master.required_on_create and master.cascade_delete and master.reference_to == ["Request__c"]
    assert line.field("OwnerId") is None
    assert schema.get("Request__c").field("OwnerId") is not None
    assert schema.child_relationship("Request__c", "Lines__r").field == "Request__c"
    assert (line.field("Quantity__c").precision, line.field("Quantity__c").scale) == (5, 2)
    signed = line.field("Signed__c")
    assert signed.type == "boolean" and signed.default_value is False and not signed.nillable


@pytest.mark.parametrize(("text", "key", "expected"), [
    ("objects:\n  Account:\n    fields:\n      Hub_Id: {type: text}\n", "objects.Account.fields.Hub_Id",
     "must end in __c"),
    ("objects:\n  Account:\n    fields:\n      Hub_Id__c: {type: texte}\n", "objects.Account.fields.Hub_Id__c.type",
     "unknown type 'texte'"),
    ("objects:\n  Account:\n    fields:\n      Hub_Id__c: {length: 5}\n", "objects.Account.fields.Hub_Id__c.type",
     "missing"),
    ("objects:\n  Account:\n    fields:\n      Hub_Id__c: {type: text, size: 5}\n",
     "objects.Account.fields.Hub_Id__c.size", "unknown key"),
    ("objects:\n  Account:\n    fields:\n      Hub_Id__c: {type: text, length: 300}\n",
     "objects.Account.fields.Hub_Id__c.length", "between 1 and 255"),
    ("objects:\n  Account:\n    fields:\n      Name__c: {type: text}\n      name__c: {type: text}\n",
     "objects.Account.fields.name__c", "already has a field"),
    ("objects:\n  Account:\n    label: Firm\n", "objects.Account.label", "only 'fields'"),
    ("objects:\n  Acount:\n    fields: {}\n", "objects.Acount", "unknown standard object"),
    ("objects:\n  Thing__c:\n    key_prefix: 001\n", "objects.Thing__c.key_prefix", "expected 3 letters"),
    ("objects:\n  Thing__c:\n    key_prefix: '001'\n", "objects.Thing__c.key_prefix", "already used"),
    ("objects:\n  Thing__c:\n    fields:\n      Parent__c: {type: lookup, reference_to: Nothing__c}\n",
     "objects.Thing__c.fields.Parent__c.reference_to", "unknown object 'Nothing__c'"),
    ("objects:\n  Thing__c:\n    fields:\n      S__c: {type: picklist, values: [A, B], default: C}\n",
     "objects.Thing__c.fields.S__c.default", "one of the picklist values"),
    ("objects:\n  Thing__c:\n    fields:\n      S__c: {type: picklist}\n", "objects.Thing__c.fields.S__c.values",
     "non-empty list"),
    ("objects:\n  Thing__c:\n    fields:\n      F__c: {type: date, unique: true}\n",
     "objects.Thing__c.fields.F__c.unique", "only text, email and number"),
    ("objects:\n  Thing__c:\n    fields:\n      F__c: {type: text, required: 'yes'}\n",
     "objects.Thing__c.fields.F__c.required", "true or false"),
    ("objects:\n  Thing__c:\n    name_field: {type: auto_number, format: 'T-'}\n",
     "objects.Thing__c.name_field.format", "number part"),
    ("objects:\n  Bad__Name__c: {}\n", "objects.Bad__Name__c", "single underscores"),
    ("objects:\n  Thing__c:\n    fields:\n      A__c: {type: lookup, reference_to: Account}\n"
     "      B__c: {type: lookup, reference_to: Account, relationship_name: A__r}\n",
     "objects.Thing__c.fields.B__c.relationship_name", "already has a relationship"),
    ("objects:\n  Thing__c:\n    fields:\n      A__c: {type: lookup, reference_to: Account, "
     "child_relationship_name: Contacts__r}\n  Other__c:\n    fields:\n      A__c: {type: lookup, "
     "reference_to: Account, child_relationship_name: Contacts__r}\n",
     "objects.Other__c.fields.A__c.child_relationship_name", "already has a child relationship"),
    ("objecs: {}\n", "objecs", "unknown top-level key"),
])
def test_schema_file_errors_name_file_key_and_expectation(tmp_path: Path, text: str, key: str,
                                                          expected: str) -> None:
    schema = standard_schema()
    path = write(tmp_path, text)
    with pytest.raises(SchemaFileError) as caught:
        load_schema_file(path, schema)
    error = caught.value
    assert error.path == str(path) and error.key == key
    assert expected in error.expected
    assert str(error).startswith(f"{path}: {key}: ")


def test_a_file_with_an_error_changes_nothing(tmp_path: Path) -> None:
    schema = standard_schema()
    path = write(tmp_path, "objects:\n  Good__c: {}\n  Account:\n    fields:\n      Ok__c: {type: text}\n"
                           "      Bad: {type: text}\n")
    with pytest.raises(SchemaFileError):
        load_schema_file(path, schema)
    assert schema.get("Good__c") is None and schema.get("Account").field("Ok__c") is None


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(SchemaFileError, match="cannot read"):
        load_schema_file(tmp_path / "missing.yaml", standard_schema())
    with pytest.raises(SchemaFileError, match="not valid YAML"):
        load_schema_file(write(tmp_path, "objects: [unclosed\n"), standard_schema())
    with pytest.raises(SchemaFileError, match="expected a mapping"):
        load_schema_file(write(tmp_path, "- a\n- b\n"), standard_schema())


def test_the_same_custom_object_cannot_be_loaded_twice() -> None:
    schema = standard_schema()
    load_schema_file(CONTRACTS, schema)
    with pytest.raises(SchemaFileError, match="already"):
        load_schema_file(CONTRACTS, schema)
