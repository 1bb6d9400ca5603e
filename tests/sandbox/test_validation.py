"""Validation, defaults and derived fields, through RecordService (the write path every API shares)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from salesbridge.sandbox import ids, validation
from salesbridge.sandbox.errors import SandboxApiError
from salesbridge.sandbox.org import Org
from salesbridge.sandbox.records import RecordService
from salesbridge.sandbox.schema.loader import load_schema_file
from salesbridge.sandbox.schema.standard import standard_schema
from salesbridge.sandbox.store import Store

EXAMPLE = Path(__file__).resolve().parents[2] / "salesbridge" / "sandbox" / "schema" / "example_schema.yaml"
CONTRACTS = Path(__file__).resolve().parents[2] / "salesbridge" / "flows" / "contracts" / "sandbox_schema.yaml"


@pytest.fixture
def org() -> Org:
    schema = standard_schema()
    load_schema_file(EXAMPLE, schema)
    load_schema_file(CONTRACTS, schema)
    return Org(schema, Store(":memory:"))


@pytest.fixture
def records(org: Org) -> RecordService:
    return org.records


@pytest.fixture
def user(records: RecordService) -> str:
    """A real, active User to act as and own records."""
    return records.create("User", {"Username": "owner@example.com", "LastName": "Owner",
                                   "Email": "owner@example.com"}, "005000000000000AAA")


def failure(call: Callable[[], Any]) -> SandboxApiError:
    with pytest.raises(SandboxApiError) as caught:
        call()
    return caught.value


def account(records: RecordService, user: str, **values: Any) -> str:
    return records.create("Account", {"Name": "Acme", **values}, user)


# -- field names and access ------------------------------------------------------------------------------
def test_unknown_field_is_invalid_field(records: RecordService, user: str) -> None:
    error = failure(lambda: records.create("Account", {"Name": "A", "Colour__c": "red"}, user))
    assert (error.error_code, error.status) == ("INVALID_FIELD", 400)
    assert error.message == "No such column 'Colour__c' on sobject of type Account"
    assert error.fields == ["Colour__c"]


def test_field_names_are_case_insensitive_and_stored_canonically(records: RecordService, user: str) -> None:
    record_id = records.create("account", {"name": "Acme", "numberofemployees": 5, "attributes": {}}, user)
    record = records.get("Account", record_id)
    assert record["Name"] == "Acme" and record["NumberOfEmployees"] == 5 and "name" not in record


def test_read_only_fields_are_refused_together(records: RecordService, user: str) -> None:
    error = failure(lambda: records.create("Opportunity", {
        "Name": "Deal", "StageName": "Prospecting", "CloseDate": "2025-01-31", "IsWon": True,
        "CreatedDate": "2020-01-01T00:00:00Z"}, user))
    assert error.error_code == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert error.message == ("Unable to create/update fields: IsWon, CreatedDate. Please check the security "
                             "settings of this field and verify that it is read/write for your profile or "
                             "permission set.")
    assert error.fields == ["IsWon", "CreatedDate"]


def test_compound_name_cannot_be_written(records: RecordService, user: str) -> None:
    error = failure(lambda: records.create("Contact", {"LastName": "Doe", "Name": "Jane Doe"}, user))
    assert (error.error_code, error.fields) == ("INVALID_FIELD_FOR_INSERT_UPDATE", ["Name"])


def test_create_only_field_is_refused_on_update(records: RecordService, user: str) -> None:
    task_id = records.create("Task", {"Subject": "Call", "TaskSubtype": "Call"}, user)
    error = failure(lambda: records.update("Task", task_id, {"TaskSubtype": "Email"}, user))
    assert (error.error_code, error.fields) == ("INVALID_FIELD_FOR_INSERT_UPDATE", ["TaskSubtype"])


def test_id_in_an_insert_is_refused_but_ignored_in_an_update(records: RecordService, user: str) -> None:
    error = failure(lambda: records.create("Account", {"Id": "001000000000001AAA", "Name": "A"}, user))
    assert (error.error_code, error.message) == ("INVALID_FIELD_FOR_INSERT_UPDATE",
                                                 "cannot specify Id in an insert call")
    account_id = account(records, user)
    records.update("Account", account_id, {"Id": account_id, "Name": "Renamed"}, user)
    assert records.get("Account", account_id)["Name"] == "Renamed"


# -- required fields ---------------------------------------------------------------------------------------
def test_required_fields_missing_are_listed(records: RecordService, user: str) -> None:
    error = failure(lambda: records.create("Lead", {"FirstName": "Ann"}, user))
    assert error.error_code == "REQUIRED_FIELD_MISSING"
    assert error.message == "Required fields are missing: [LastName, Company]"
    assert error.fields == ["LastName", "Company"]


def test_empty_string_counts_as_missing(records: RecordService, user: str) -> None:
    error = failure(lambda: records.create("Contact", {"LastName": ""}, user))
    assert (error.error_code, error.fields) == ("REQUIRED_FIELD_MISSING", ["LastName"])


def test_clearing_a_required_field_on_update_is_refused(records: RecordService, user: str) -> None:
    lead_id = records.create("Lead", {"LastName": "Lee", "Company": "Co"}, user)
    for value in (None, ""):
        error = failure(lambda value=value: records.update("Lead", lead_id, {"Company": value}, user))
        assert (error.error_code, error.message) == ("REQUIRED_FIELD_MISSING", "Required fields are missing: [Company]")
    error = failure(lambda: records.update("Lead", lead_id, {"Status": None}, user))
    assert error.fields == ["Status"]


def test_required_custom_field(records: RecordService, user: str) -> None:
    # A null given on create means "not given": the default applies, so nothing is missing.
    request_id = records.create("Contract_Request__c", {"Status__c": None}, user)
    assert records.get("Contract_Request__c", request_id)["Status__c"] == "Draft"
    error = failure(lambda: records.update("Contract_Request__c", request_id, {"Status__c": ""}, user))
    assert (error.error_code, error.fields) == ("REQUIRED_FIELD_MISSING", ["Status__c"])


# -- text, picklists, e-mail -------------------------------------------------------------------------------
def test_string_too_long_names_the_label_and_the_maximum(records: RecordService, user: str) -> None:
    records.create("Contact", {"LastName": "x" * 80}, user)
    error = failure(lambda: records.create("Contact", {"LastName": "y" * 81}, user))
    assert error.error_code == "STRING_TOO_LONG"
    assert error.message == f"Last Name: data value too large: {'y' * 81} (max length=80)"
    assert error.fields == ["LastName"]
    error = failure(lambda: account(records, user, Name="n" * 256))
    assert error.message.startswith("Account Name: data value too large: ") and error.message.endswith(
        "(max length=255)")


def test_restricted_picklist_refuses_unknown_values(records: RecordService, user: str) -> None:
    error = failure(lambda: records.create("Lead", {"LastName": "L", "Company": "C", "Status": "Hot"}, user))
    assert error.error_code == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert error.message == "Lead Status: bad value for restricted picklist field: Hot"
    assert error.fields == ["Status"]
    error = failure(lambda: records.create("Opportunity", {"Name": "D", "StageName": "Won",
                                                           "CloseDate": "2025-01-01"}, user))
    assert error.message == "Stage: bad value for restricted picklist field: Won"
    error = failure(lambda: records.create("Contract_Request__c", {"Status__c": "Sent"}, user))
    assert error.message == "Status: bad value for restricted picklist field: Sent"


def test_restricted_picklist_value_is_stored_in_its_canonical_spelling(records: RecordService, user: str) -> None:
    lead_id = records.create("Lead", {"LastName": "L", "Company": "C", "Status": "working - contacted"}, user)
    assert records.get("Lead", lead_id)["Status"] == "Working - Contacted"


def test_unrestricted_picklist_accepts_other_values(records: RecordService, user: str) -> None:
    account_id = account(records, user, Industry="Space Mining", Type=42)
    record = records.get("Account", account_id)
    assert (record["Industry"], record["Type"]) == ("Space Mining", "42")


def test_invalid_email_address(records: RecordService, user: str) -> None:
    error = failure(lambda: records.create("Contact", {"LastName": "D", "Email": "not-an-address"}, user))
    assert error.error_code == "INVALID_EMAIL_ADDRESS"
    assert error.message == "Email: invalid email address: not-an-address"
    records.create("Contact", {"LastName": "D", "Email": "jane.doe+tag@example.co.uk"}, user)


# -- types -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("object_name", "values", "message"), [
    ("Account", {"NumberOfEmployees": "many"},
     "Cannot deserialize instance of int from VALUE_STRING value many or request may be missing a required field"),
    ("Account", {"NumberOfEmployees": 12.5}, "Cannot deserialize instance of int from VALUE_NUMBER_FLOAT value 12.5"),
    ("Account", {"AnnualRevenue": "1,000"}, "Cannot deserialize instance of double from VALUE_STRING value 1,000"),
    ("Account", {"AnnualRevenue": True}, "Cannot deserialize instance of double from VALUE_TRUE value true"),
    ("Account", {"Description": {"text": "x"}}, "Cannot deserialize instance of string from START_OBJECT value {"),
    ("Contact", {"HasOptedOutOfEmail": "yes"}, "Cannot deserialize instance of boolean from VALUE_STRING value yes"),
    ("Contact", {"HasOptedOutOfEmail": 1}, "Cannot deserialize instance of boolean from VALUE_NUMBER_INT value 1"),
    ("Contact", {"Birthdate": "31/12/1980"}, "Cannot deserialize instance of date from VALUE_STRING value 31/12/1980"),
    ("Contact", {"Birthdate": "1980-02-30"}, "Cannot deserialize instance of date from VALUE_STRING value 1980-02-30"),
    ("Task", {"ReminderDateTime": "2024-07-30 20:54:16 UTC"},
     "Cannot deserialize instance of datetime from VALUE_STRING value 2024-07-30 20:54:16 UTC"),
    ("Account", {"ParentId": 12}, "Cannot deserialize instance of id from VALUE_NUMBER_INT value 12"),
])
def test_values_of_the_wrong_type_are_json_parser_errors(records: RecordService, user: str, object_name: str,
                                                         values: dict[str, Any], message: str) -> None:
    required = {"Account": {"Name": "A"}, "Contact": {"LastName": "C"}, "Task": {}}[object_name]
    error = failure(lambda: records.create(object_name, {**required, **values}, user))
    assert error.error_code == "JSON_PARSER_ERROR"
    assert error.message.startswith(message)


def test_numbers_and_booleans_accept_the_forms_salesforce_accepts(records: RecordService, user: str) -> None:
    account_id = account(records, user, NumberOfEmployees="250", AnnualRevenue="1250000.75")
    record = records.get("Account", account_id)
    assert record["NumberOfEmployees"] == 250 and record["AnnualRevenue"] == 1250001.0  # currency, scale 0
    opportunity_id = records.create("Opportunity", {"Name": "D", "StageName": "Prospecting",
                                                    "CloseDate": "2025-03-31", "Amount": 99.999}, user)
    assert records.get("Opportunity", opportunity_id)["Amount"] == 100.0
    contact_id = records.create("Contact", {"LastName": "C", "HasOptedOutOfEmail": "TRUE", "DoNotCall": False},
                                user)
    contact = records.get("Contact", contact_id)
    assert contact["HasOptedOutOfEmail"] is True and contact["DoNotCall"] is False
    records.update("Account", account_id, {"NumberOfEmployees": 12.0}, user)
    assert records.get("Account", account_id)["NumberOfEmployees"] == 12


def test_numbers_outside_the_field_precision(records: RecordService, user: str) -> None:
    error = failure(lambda: account(records, user, NumberOfEmployees=100_000_000))
    assert error.error_code == "NUMBER_OUTSIDE_VALID_RANGE"
    assert error.message == "Employees: value outside of valid range on numeric field: 100000000"
    account(records, user, NumberOfEmployees=99_999_999)
    error = failure(lambda: records.create("Contract_Request__c", {"Term_Months__c": 1000}, user))
    assert (error.error_code, error.fields) == ("NUMBER_OUTSIDE_VALID_RANGE", ["Term_Months__c"])


@pytest.mark.parametrize(("given", "stored"), [
    ("2024-05-01T10:20:30Z", "2024-05-01T10:20:30.000+0000"),
    ("2024-05-01T10:20:30.123456Z", "2024-05-01T10:20:30.123+0000"),
    ("2024-05-01T12:20:30+02:00", "2024-05-01T10:20:30.000+0000"),
    ("2024-05-01T05:20:30.5-0500", "2024-05-01T10:20:30.500+0000"),
    ("2024-05-01T10:20:30", "2024-05-01T10:20:30.000+0000"),
    ("2024-05-01T10:20:30.000+0000", "2024-05-01T10:20:30.000+0000"),
    ("2024-05-01", "2024-05-01T00:00:00.000+0000"),
])
def test_datetimes_are_normalised_to_the_api_form(records: RecordService, user: str, given: str,
                                                  stored: str) -> None:
    task_id = records.create("Task", {"Subject": "Call", "ReminderDateTime": given}, user)
    assert records.get("Task", task_id)["ReminderDateTime"] == stored


@pytest.mark.parametrize(("given", "stored"), [
    ("1980-06-07", "1980-06-07"), ("1980-06-07Z", "1980-06-07"), ("1980-06-07T00:00:00Z", "1980-06-07"),
])
def test_dates_accept_the_bulk_forms(records: RecordService, user: str, given: str, stored: str) -> None:
    contact_id = records.create("Contact", {"LastName": "C", "Birthdate": given}, user)
    assert records.get("Contact", contact_id)["Birthdate"] == stored


# -- references --------------------------------------------------------------------------------------------
def test_reference_ids_are_normalised_to_18_characters(records: RecordService, user: str) -> None:
    account_id = account(records, user)
    contact_id = records.create("Contact", {"LastName": "C", "AccountId": account_id[:15]}, user)
    assert records.get("Contact", contact_id)["AccountId"] == account_id


def test_malformed_reference_id(records: RecordService, user: str) -> None:
    for bad in ("abc", "001-not-an-id!!", "001xx000003DGb2AAZ"):
        error = failure(lambda bad=bad: records.create("Contact", {"LastName": "C", "AccountId": bad}, user))
        assert (error.error_code, error.fields) == ("MALFORMED_ID", ["AccountId"])
        assert error.message == f"Account ID: id value of incorrect type: {bad}"


def test_reference_to_the_wrong_object_is_a_field_integrity_exception(records: RecordService, user: str) -> None:
    other_contact = records.create("Contact", {"LastName": "Other"}, user)
    error = failure(lambda: records.create("Contact", {"LastName": "C", "AccountId": other_contact}, user))
    assert error.error_code == "FIELD_INTEGRITY_EXCEPTION"
    assert error.message == f"Account ID: id value of incorrect type: {other_contact}"
    error = failure(lambda: records.create("Task", {"WhoId": account(records, user)}, user))
    assert (error.error_code, error.fields) == ("FIELD_INTEGRITY_EXCEPTION", ["WhoId"])
    assert error.message.startswith("Name ID: id value of incorrect type: 001")


def test_dangling_and_deleted_references(records: RecordService, user: str) -> None:
    account_id = account(records, user)
    missing = ids.make_id("001", 999)
    error = failure(lambda: records.create("Contact", {"LastName": "C", "AccountId": missing}, user))
    assert (error.error_code, error.message) == ("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
    records.delete("Account", account_id, user)
    error = failure(lambda: records.create("Contact", {"LastName": "C", "AccountId": account_id}, user))
    assert (error.error_code, error.message) == ("ENTITY_IS_DELETED", "entity is deleted")


def test_polymorphic_lookups_take_any_of_their_targets(records: RecordService, user: str) -> None:
    contact_id = records.create("Contact", {"LastName": "C"}, user)
    lead_id = records.create("Lead", {"LastName": "L", "Company": "Co"}, user)
    request_id = records.create("Contract_Request__c", {}, user)
    for who, what in ((contact_id, account(records, user)), (lead_id, request_id)):
        task_id = records.create("Task", {"Subject": "Call", "WhoId": who, "WhatId": what}, user)
        assert records.get("Task", task_id)["WhatId"] == what


def test_owner_must_be_an_active_user(records: RecordService, user: str) -> None:
    other = records.create("User", {"Username": "gone@example.com", "LastName": "Gone", "Email": "g@example.com",
                                    "IsActive": False}, user)
    error = failure(lambda: account(records, user, OwnerId=other))
    assert error.error_code == "INACTIVE_OWNER_OR_USER"
    assert other in error.message
    manager = records.create("User", {"Username": "m@example.com", "LastName": "M", "Email": "m@example.com"}, user)
    assert records.get("Account", account(records, user, OwnerId=manager))["OwnerId"] == manager


def test_lookup_by_parent_external_id(records: RecordService, user: str) -> None:
    account_id = account(records, user, Hub_Id__c="HUB-1")
    contact_id = records.create("Contact", {"LastName": "C", "Account": {"Hub_Id__c": "hub-1"}}, user)
    assert records.get("Contact", contact_id)["AccountId"] == account_id
    task_id = records.create("Task", {"What": {"attributes": {"type": "Account"}, "Hub_Id__c": "HUB-1"}}, user)
    assert records.get("Task", task_id)["WhatId"] == account_id
    error = failure(lambda: records.create("Contact", {"LastName": "C", "Account": {"Hub_Id__c": "nope"}}, user))
    assert (error.error_code, error.message) == (
        "INVALID_FIELD", "Foreign key external ID: nope not found for field Hub_Id__c in entity Account")
    error = failure(lambda: records.create("Contact", {"LastName": "C", "Account": {"Phone": "1"}}, user))
    assert error.error_code == "INVALID_FIELD"


# -- unique values -----------------------------------------------------------------------------------------
def test_duplicate_unique_value(records: RecordService, user: str) -> None:
    first = account(records, user, Hub_Id__c="H-1")
    error = failure(lambda: account(records, user, Hub_Id__c="h-1"))
    assert error.error_code == "DUPLICATE_VALUE"
    assert error.message == f"duplicate value found: Hub_Id__c duplicates value on record with id: {first}"
    second = account(records, user, Hub_Id__c="H-2")
    error = failure(lambda: records.update("Account", second, {"Hub_Id__c": "H-1"}, user))
    assert error.error_code == "DUPLICATE_VALUE"
    records.update("Account", first, {"Hub_Id__c": "H-1", "Name": "Same value is fine"}, user)


def test_freed_unique_values_can_be_reused(records: RecordService, user: str) -> None:
    first = account(records, user, Hub_Id__c="H-1")
    records.update("Account", first, {"Hub_Id__c": "H-9"}, user)
    second = account(records, user, Hub_Id__c="H-1")
    records.delete("Account", second, user)
    third = account(records, user, Hub_Id__c="H-1")
    assert records.get("Account", third)["Hub_Id__c"] == "H-1"
    assert failure(lambda: account(records, user, Hub_Id__c="H-9")).error_code == "DUPLICATE_VALUE"


def test_unique_index_survives_rolled_back_transactions(org: Org, records: RecordService, user: str) -> None:
    with pytest.raises(RuntimeError), org.store.transaction():
        account(records, user, Hub_Id__c="H-1")
        raise RuntimeError("roll back")
    account_id = account(records, user, Hub_Id__c="H-1")
    assert failure(lambda: account(records, user, Hub_Id__c="H-1")).message.endswith(account_id)


def test_unique_check_over_many_records(records: RecordService, user: str) -> None:
    ids_by_value = {f"H-{n}": account(records, user, Hub_Id__c=f"H-{n}") for n in range(1500)}
    error = failure(lambda: account(records, user, Hub_Id__c="h-1234"))
    assert error.message.endswith(ids_by_value["H-1234"])
    assert validation.find_ids(records, records.object_def("Account"), "hub_id__c", "H-77") == [ids_by_value["H-77"]]


def test_username_is_unique(records: RecordService, user: str) -> None:
    error = failure(lambda: records.create("User", {"Username": "OWNER@example.com", "LastName": "X",
                                                    "Email": "x@example.com"}, user))
    assert error.error_code == "DUPLICATE_VALUE" and user in error.message


# -- defaults ----------------------------------------------------------------------------------------------
def test_defaults_on_create(records: RecordService, user: str) -> None:
    lead = records.get("Lead", records.create("Lead", {"LastName": "L", "Company": "C"}, user))
    assert (lead["Status"], lead["IsConverted"], lead["DoNotCall"]) == ("Open - Not Contacted", False, False)
    task = records.get("Task", records.create("Task", {"Subject": "Call"}, user))
    assert (task["Status"], task["Priority"], task["TaskSubtype"]) == ("Not Started", "Normal", "Task")
    contract = records.get("Contract", records.create("Contract", {"AccountId": account(records, user)}, user))
    assert contract["Status"] == "Draft"
    request = records.get("Contract_Request__c", records.create("Contract_Request__c", {}, user))
    assert request["Status__c"] == "Draft"
    assert records.get("Lead", records.create("Lead", {"LastName": "L", "Company": "C"}, user))[
        "Sync_with_Hub__c"] is False
    assert records.get("User", user)["IsActive"] is True
    assert records.get("User", user)["TimeZoneSidKey"] == "America/Los_Angeles"


def test_given_values_win_over_defaults(records: RecordService, user: str) -> None:
    lead_id = records.create("Lead", {"LastName": "L", "Company": "C", "Status": "Working - Contacted",
                                      "DoNotCall": True}, user)
    lead = records.get("Lead", lead_id)
    assert (lead["Status"], lead["DoNotCall"]) == ("Working - Contacted", True)


def test_null_boolean_on_update_is_false(records: RecordService, user: str) -> None:
    contact_id = records.create("Contact", {"LastName": "C", "DoNotCall": True}, user)
    records.update("Contact", contact_id, {"DoNotCall": None}, user)
    assert records.get("Contact", contact_id)["DoNotCall"] is False


# -- derived fields ----------------------------------------------------------------------------------------
def test_person_names_are_derived(records: RecordService, user: str) -> None:
    contact_id = records.create("Contact", {"FirstName": "Jane", "LastName": "Doe"}, user)
    assert records.get("Contact", contact_id)["Name"] == "Jane Doe"
    records.update("Contact", contact_id, {"FirstName": None}, user)
    assert records.get("Contact", contact_id)["Name"] == "Doe"
    lead_id = records.create("Lead", {"FirstName": "Ann", "LastName": "Lee", "Company": "C"}, user)
    assert records.get("Lead", lead_id)["Name"] == "Ann Lee"
    user_record = records.get("User", records.create("User", {"Username": "jo@example.com", "FirstName": "Jo",
                                                               "LastName": "Smithers", "Email": "jo@example.com"},
                                                      user))
    assert (user_record["Name"], user_record["Alias"]) == ("Jo Smithers", "jsmit")


@pytest.mark.parametrize(("stage", "closed", "won", "probability", "forecast"), [
    ("Prospecting", False, False, 10.0, "Pipeline"),
    ("Negotiation/Review", False, False, 90.0, "Pipeline"),
    ("Closed Won", True, True, 100.0, "Closed"),
    ("Closed Lost", True, False, 0.0, "Omitted"),
])
def test_opportunity_stage_drives_closed_won_probability_and_forecast(
        records: RecordService, user: str, stage: str, closed: bool, won: bool, probability: float,
        forecast: str) -> None:
    opportunity_id = records.create("Opportunity", {"Name": "D", "StageName": stage, "CloseDate": "2025-08-15",
                                                    "Amount": 1000}, user)
    record = records.get("Opportunity", opportunity_id)
    assert (record["IsClosed"], record["IsWon"], record["Probability"]) == (closed, won, probability)
    assert record["ForecastCategoryName"] == forecast
    assert record["ExpectedRevenue"] == 1000 * probability / 100
    assert (record["FiscalYear"], record["FiscalQuarter"], record["Fiscal"]) == (2025, 3, "2025 3")


def test_stage_change_updates_probability_unless_it_is_given(records: RecordService, user: str) -> None:
    opportunity_id = records.create("Opportunity", {"Name": "D", "StageName": "Prospecting",
                                                    "CloseDate": "2025-01-01", "Probability": 35}, user)
    assert records.get("Opportunity", opportunity_id)["Probability"] == 35.0
    records.update("Opportunity", opportunity_id, {"StageName": "Closed Won"}, user)
    record = records.get("Opportunity", opportunity_id)
    assert (record["Probability"], record["IsClosed"], record["IsWon"], record["ForecastCategory"]) == (
        100.0, True, True, "Closed")
    records.update("Opportunity", opportunity_id, {"StageName": "Qualification", "Probability": 15}, user)
    record = records.get("Opportunity", opportunity_id)
    assert (record["Probability"], record["IsClosed"], record["IsWon"]) == (15.0, False, False)


def test_task_closed_and_account_are_derived(records: RecordService, user: str) -> None:
    account_id = account(records, user)
    contact_id = records.create("Contact", {"LastName": "C", "AccountId": account_id}, user)
    opportunity_id = records.create("Opportunity", {"Name": "D", "StageName": "Prospecting",
                                                    "CloseDate": "2025-01-01", "AccountId": account_id}, user)
    task_id = records.create("Task", {"Subject": "Call", "WhatId": opportunity_id, "Priority": "High"}, user)
    task = records.get("Task", task_id)
    assert (task["IsClosed"], task["IsHighPriority"], task["AccountId"]) == (False, True, account_id)
    records.update("Task", task_id, {"Status": "Completed", "WhatId": None, "WhoId": contact_id}, user)
    task = records.get("Task", task_id)
    assert task["IsClosed"] is True and task["CompletedDateTime"] is not None and task["AccountId"] == account_id
    records.update("Task", task_id, {"Status": "In Progress"}, user)
    assert records.get("Task", task_id)["IsClosed"] is False


def test_contract_numbers_status_code_and_end_date(records: RecordService, user: str) -> None:
    account_id = account(records, user)
    first = records.get("Contract", records.create("Contract", {
        "AccountId": account_id, "StartDate": "2024-01-31", "ContractTerm": 1}, user))
    second_id = records.create("Contract", {"AccountId": account_id, "StartDate": "2024-01-01",
                                            "ContractTerm": 12}, user)
    assert (first["ContractNumber"], first["StatusCode"], first["EndDate"]) == ("00000100", "Draft", "2024-02-28")
    second = records.get("Contract", second_id)
    assert (second["ContractNumber"], second["EndDate"]) == ("00000101", "2024-12-31")
    records.update("Contract", second_id, {"Status": "Activated"}, user)
    second = records.get("Contract", second_id)
    assert (second["StatusCode"], second["ActivatedById"]) == ("Activated", user)
    assert second["ActivatedDate"] == second["LastModifiedDate"]


def test_case_number_and_closed(records: RecordService, user: str) -> None:
    case_id = records.create("Case", {"Subject": "Broken"}, user)
    case = records.get("Case", case_id)
    assert (case["CaseNumber"], case["Status"], case["Priority"], case["IsClosed"]) == (
        "00001001", "New", "Medium", False)
    records.update("Case", case_id, {"Status": "Closed"}, user)
    case = records.get("Case", case_id)
    assert case["IsClosed"] is True and case["ClosedDate"] == case["LastModifiedDate"]


def test_custom_auto_number_name(records: RecordService, user: str) -> None:
    names = [records.get("Contract_Request__c", records.create("Contract_Request__c", {}, user))["Name"]
             for _ in range(3)]
    assert names == ["CR-00001", "CR-00002", "CR-00003"]
    error = failure(lambda: records.create("Contract_Request__c", {"Name": "CR-1"}, user))
    assert (error.error_code, error.fields) == ("INVALID_FIELD_FOR_INSERT_UPDATE", ["Name"])


def test_objects_without_audit_fields_do_not_store_them(records: RecordService, user: str) -> None:
    document_id = records.system_create("ContentDocument", {"Title": "Doc"}, user)
    link_id = records.create("ContentDocumentLink", {"ContentDocumentId": document_id, "LinkedEntityId": user},
                             user)
    link = records.get("ContentDocumentLink", link_id)
    assert "CreatedDate" not in link and "CreatedById" not in link and "OwnerId" not in link
    assert (link["ShareType"], link["Visibility"], link["IsDeleted"]) == ("V", "AllUsers", False)
    assert link["SystemModstamp"]


# -- CSV rows ----------------------------------------------------------------------------------------------
def test_values_from_csv_row(org: Org, records: RecordService, user: str) -> None:
    account_def = records.object_def("Account")
    contact_def = records.object_def("Contact")
    account_id = account(records, user, Hub_Id__c="H-1")
    values = validation.values_from_csv_row(contact_def, {
        "LastName": "Doe", "FirstName": "", "Description": "#N/A", "HasOptedOutOfEmail": "1", "DoNotCall": "false",
        "Birthdate": "1980-06-07Z", "Account.Hub_Id__c": "H-1"})
    assert values == {"LastName": "Doe", "Description": None, "HasOptedOutOfEmail": True, "DoNotCall": False,
                      "Birthdate": "1980-06-07", "Account": {"Hub_Id__c": "H-1"}}
    contact_id = records.create("Contact", values, user)
    assert records.get("Contact", contact_id)["AccountId"] == account_id
    update = validation.values_from_csv_row(contact_def, {"Id": contact_id, "LastName": "", "Title": "CEO"})
    records.update("Contact", contact_id, update, user)
    contact = records.get("Contact", contact_id)
    assert (contact["LastName"], contact["Title"]) == ("Doe", "CEO")
    polymorphic = validation.values_from_csv_row(records.object_def("Task"), {"Account:What.Hub_Id__c": "H-1"})
    assert polymorphic == {"What": {"Hub_Id__c": "H-1", "attributes": {"type": "Account"}}}
    with pytest.raises(SandboxApiError) as caught:
        validation.values_from_csv_row(account_def, {"Name": "A", "NumberOfEmployees": "lots"})
    assert caught.value.error_code == "INVALID_FIELD"
    assert caught.value.message == ("Failed to deserialize field at col 2. Due to, 'lots' is not a valid value for "
                                    "the type xsd:int")
    with pytest.raises(SandboxApiError) as caught:
        validation.values_from_csv_row(account_def, {"Nom": "A"})
    assert caught.value.message == "No such column 'Nom' on sobject of type Account"
