"""sObject Collections (``composite/sobjects``) through simple-salesforce's ``restful``, as applications call it."""

from __future__ import annotations

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

from salesbridge.sandbox.faults import FaultSettings
from salesbridge.sandbox.schema import FieldDef
from salesbridge.sandbox.server import RunningSandbox

LEGACY_ID = "Legacy_Id__c"
ROLLED_BACK = "ALL_OR_NONE_OPERATION_ROLLED_BACK"


def account(name: str | None, **fields: object) -> dict:
    values: dict = {"attributes": {"type": "Account"}, **fields}
    if name is not None:
        values["Name"] = name
    return values


def live_count(sandbox: RunningSandbox, object_name: str = "Account") -> int:
    return len(sandbox.org.store.records(object_name))


def status_codes(result: dict) -> list[str]:
    return [error["statusCode"] for error in result["errors"]]


def add_external_id(sandbox: RunningSandbox) -> None:
    sandbox.org.schema.get("Account").add_field(FieldDef(LEGACY_ID, "string", length=50, external_id=True,
                                                         custom=True))


# -- create -------------------------------------------------------------------------------------------------
def test_create_mixed_types_in_input_order(sf: Salesforce) -> None:
    results = sf.restful("composite/sobjects", method="POST", json={"allOrNone": False, "records": [
        account("First"),
        {"attributes": {"type": "Contact"}, "LastName": "Second"},
        account("Third"),
    ]})
    assert [result["success"] for result in results] == [True, True, True]
    assert [result["id"][:3] for result in results] == ["001", "003", "001"]
    assert all(result["errors"] == [] for result in results)
    assert sf.Account.get(results[0]["id"])["Name"] == "First"
    assert sf.Contact.get(results[1]["id"])["LastName"] == "Second"


def test_partial_failure_keeps_the_good_records(sandbox: RunningSandbox, sf: Salesforce) -> None:
    results = sf.restful("composite/sobjects", method="POST", json={"records": [
        account("Good 1"), account(None, Industry="Energy"), {"Name": "no type"}, account("Good 2"),
    ]})
    assert [result["success"] for result in results] == [True, False, False, True]
    failure = results[1]
    assert "id" not in failure
    assert failure["errors"] == [{"statusCode": "REQUIRED_FIELD_MISSING",
                                  "message": "Required fields are missing: [Name]", "fields": ["Name"]}]
    assert "errorCode" not in failure["errors"][0]
    assert status_codes(results[2]) == ["INVALID_TYPE"]
    assert live_count(sandbox) == 2


def test_all_or_none_rolls_every_record_back(sandbox: RunningSandbox, sf: Salesforce) -> None:
    before = live_count(sandbox)
    results = sf.restful("composite/sobjects", method="POST", json={"allOrNone": True, "records": [
        account("Would be 1"), account(None), account("Would be 3"),
    ]})
    assert [result["success"] for result in results] == [False, False, False]
    assert status_codes(results[0]) == [ROLLED_BACK]
    assert status_codes(results[1]) == ["REQUIRED_FIELD_MISSING"]
    assert status_codes(results[2]) == [ROLLED_BACK]
    assert live_count(sandbox) == before


def test_all_or_none_success_commits(sandbox: RunningSandbox, sf: Salesforce) -> None:
    results = sf.restful("composite/sobjects", method="POST", json={"allOrNone": True, "records": [
        account("Kept 1"), account("Kept 2")]})
    assert all(result["success"] for result in results)
    assert live_count(sandbox) == 2


def test_create_refuses_an_id(sf: Salesforce) -> None:
    existing = sf.Account.create({"Name": "Existing"})["id"]
    results = sf.restful("composite/sobjects", method="POST", json={"records": [account("Dup", id=existing)]})
    assert status_codes(results[0]) == ["INVALID_FIELD_FOR_INSERT_UPDATE"]


def test_unknown_type_fails_the_record(sf: Salesforce) -> None:
    results = sf.restful("composite/sobjects", method="POST", json={"records": [
        {"attributes": {"type": "Nope__c"}, "Name": "x"}]})
    assert status_codes(results[0]) == ["INVALID_TYPE"]


def test_more_than_200_records_is_refused(sandbox: RunningSandbox, sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.restful("composite/sobjects", method="POST",
                   json={"records": [account(f"A{i}") for i in range(201)]})
    assert caught.value.content[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    assert live_count(sandbox) == 0
    results = sf.restful("composite/sobjects", method="POST",
                         json={"records": [account(f"A{i}") for i in range(200)]})
    assert len(results) == 200 and all(result["success"] for result in results)


def test_records_must_be_a_list(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.restful("composite/sobjects", method="POST", json={"records": {"Name": "x"}})
    assert caught.value.content[0]["errorCode"] == "JSON_PARSER_ERROR"


def test_lock_fault_fails_one_record(sandbox: RunningSandbox, sf: Salesforce) -> None:
    sandbox.org.faults.configure(FaultSettings(lock_next_writes=1))
    results = sf.restful("composite/sobjects", method="POST", json={"records": [account("L1"), account("L2")]})
    assert status_codes(results[0]) == ["UNABLE_TO_LOCK_ROW"]
    assert results[1]["success"] is True


# -- update -------------------------------------------------------------------------------------------------
def test_update_with_partial_failure(sf: Salesforce) -> None:
    first = sf.Account.create({"Name": "U1"})["id"]
    second = sf.Account.create({"Name": "U2"})["id"]
    results = sf.restful("composite/sobjects", method="PATCH", json={"records": [
        account("U1 new", id=first),
        account("No id"),
        account("Bad id", id="001xx000003DGb2999"),
        {"attributes": {"type": "Account"}, "Id": second, "Name": "U2 new"},
    ]})
    assert results[0] == {"id": first, "success": True, "errors": []}
    assert status_codes(results[1]) == ["MISSING_ARGUMENT"]
    assert status_codes(results[2]) == ["MALFORMED_ID"]
    assert results[3]["success"] is True
    assert sf.Account.get(first)["Name"] == "U1 new"
    assert sf.Account.get(second)["Name"] == "U2 new"


def test_update_all_or_none_restores_values(sf: Salesforce) -> None:
    first = sf.Account.create({"Name": "Before"})["id"]
    results = sf.restful("composite/sobjects", method="PATCH", json={"allOrNone": True, "records": [
        account("After", id=first), account("x", id="001000000000000")]})
    assert status_codes(results[0]) == [ROLLED_BACK]
    assert results[1]["success"] is False
    assert sf.Account.get(first)["Name"] == "Before"


# -- upsert -------------------------------------------------------------------------------------------------
def test_upsert_reports_created(sandbox: RunningSandbox, sf: Salesforce) -> None:
    add_external_id(sandbox)
    existing = sf.Account.create({"Name": "Old", LEGACY_ID: "E-1"})["id"]
    results = sf.restful(f"composite/sobjects/Account/{LEGACY_ID}", method="PATCH", json={"records": [
        account("Old renamed", **{LEGACY_ID: "E-1"}),
        {"Name": "New", LEGACY_ID: "E-2"},
        account("No key"),
    ]})
    assert results[0] == {"id": existing, "success": True, "errors": [], "created": False}
    assert results[1]["created"] is True and results[1]["success"] is True
    assert status_codes(results[2]) == ["MISSING_ARGUMENT"]
    assert sf.Account.get(existing)["Name"] == "Old renamed"
    assert sf.Account.get(results[1]["id"])[LEGACY_ID] == "E-2"


def test_upsert_with_duplicate_external_ids_fails_that_record(sandbox: RunningSandbox, sf: Salesforce) -> None:
    add_external_id(sandbox)
    for name in ("Twin A", "Twin B"):
        record_id = sf.Account.create({"Name": name})["id"]
        stored = dict(sandbox.org.store.get(record_id))
        stored[LEGACY_ID] = "TWIN"
        sandbox.org.store.put("Account", stored)
    results = sf.restful(f"composite/sobjects/Account/{LEGACY_ID}", method="PATCH",
                         json={"records": [account("?", **{LEGACY_ID: "TWIN"})]})
    assert status_codes(results[0]) == ["DUPLICATE_EXTERNAL_ID"]


def test_upsert_on_unknown_external_id_field_is_not_found(sf: Salesforce) -> None:
    with pytest.raises(SalesforceResourceNotFound) as caught:
        sf.restful("composite/sobjects/Account/Nope__c", method="PATCH", json={"records": [account("x")]})
    assert caught.value.content[0]["errorCode"] == "NOT_FOUND"


# -- delete -------------------------------------------------------------------------------------------------
def test_delete_with_partial_failure(sf: Salesforce) -> None:
    first = sf.Account.create({"Name": "D1"})["id"]
    second = sf.Account.create({"Name": "D2"})["id"]
    sf.Account.delete(second)
    results = sf.restful("composite/sobjects", method="DELETE", params={"ids": f"{first},{second},bad"})
    assert results[0] == {"id": first, "success": True, "errors": []}
    assert status_codes(results[1]) == ["ENTITY_IS_DELETED"]
    assert status_codes(results[2]) == ["MALFORMED_ID"]


def test_delete_all_or_none_keeps_records(sandbox: RunningSandbox, sf: Salesforce) -> None:
    first = sf.Account.create({"Name": "Stay"})["id"]
    results = sf.restful("composite/sobjects", method="DELETE",
                         params={"ids": f"{first},001000000000000", "allOrNone": "true"})
    assert status_codes(results[0]) == [ROLLED_BACK]
    assert sf.Account.get(first)["IsDeleted"] is False


def test_delete_needs_ids_and_at_most_200(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest):
        sf.restful("composite/sobjects", method="DELETE")
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.restful("composite/sobjects", method="DELETE", params={"ids": ",".join(["001000000000000"] * 201)})
    assert caught.value.content[0]["errorCode"] == "EXCEEDED_ID_LIMIT"


# -- retrieve -----------------------------------------------------------------------------------------------
def test_retrieve_in_input_order_with_nulls(sf: Salesforce) -> None:
    first = sf.Account.create({"Name": "R1", "Industry": "Energy"})["id"]
    second = sf.Account.create({"Name": "R2"})["id"]
    gone = sf.Account.create({"Name": "R3"})["id"]
    sf.Account.delete(gone)
    records = sf.restful("composite/sobjects/Account",
                         params={"ids": f"{second},{gone},{first},nonsense", "fields": "Name,industry"})
    assert records[0] == {"attributes": {"type": "Account", "url": f"/services/data/v62.0/sobjects/Account/{second}"},
                          "Name": "R2", "Industry": None}
    assert records[1] is None and records[3] is None
    assert records[2]["Industry"] == "Energy"


def test_retrieve_by_post_body(sf: Salesforce) -> None:
    first = sf.Account.create({"Name": "P1"})["id"]
    records = sf.restful("composite/sobjects/Account", method="POST", json={"ids": [first], "fields": ["Name"]})
    assert [record["Name"] for record in records] == ["P1"]


def test_retrieve_with_unknown_field_is_invalid_field(sf: Salesforce) -> None:
    first = sf.Account.create({"Name": "F1"})["id"]
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.restful("composite/sobjects/Account", params={"ids": first, "fields": "Name,Bogus"})
    assert caught.value.content[0]["errorCode"] == "INVALID_FIELD"
