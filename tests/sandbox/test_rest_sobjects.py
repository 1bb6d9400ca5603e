"""The sandbox's sObject REST resources, driven by unmodified simple-salesforce over HTTPS."""

from __future__ import annotations

import base64

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceResourceNotFound,
)

from salesbridge.sandbox.schema import FieldDef
from salesbridge.sandbox.server import RunningSandbox

LEGACY_ID = "Legacy_Id__c"


def add_external_id(sandbox: RunningSandbox, object_name: str = "Account", name: str = LEGACY_ID) -> None:
    """Give the fresh org's object an external id field (as a custom field with External ID set would)."""
    sandbox.org.schema.get(object_name).add_field(
        FieldDef(name, "string", length=50, external_id=True, custom=True))


def set_field(sandbox: RunningSandbox, record_id: str, name: str, value: object) -> None:
    """Write a value straight into the store, to build states the API refuses (duplicate external ids)."""
    org = sandbox.org
    record = dict(org.store.get(record_id))
    record[name] = value
    org.store.put(org.store.object_of(record_id), record)


def raw_session(sandbox: RunningSandbox) -> requests.Session:
    _, token = sandbox.login()
    session = sandbox.http()
    session.headers["Authorization"] = f"Bearer {token}"
    return session


def error_code(error: Exception) -> str:
    return error.content[0]["errorCode"]  # type: ignore[attr-defined]


# -- versions and resources ---------------------------------------------------------------------------------
def test_versions_are_listed_without_a_session(sandbox: RunningSandbox) -> None:
    versions = sandbox.http().get(f"{sandbox.url}/services/data/", timeout=30).json()
    assert versions[0] == {"label": "Summer '14", "url": "/services/data/v31.0", "version": "31.0"}
    assert versions[-1] == {"label": "Winter '25", "url": "/services/data/v62.0", "version": "62.0"}
    assert [v["version"] for v in versions] == [f"{n}.0" for n in range(31, 63)]


def test_version_root_lists_resources(sf: Salesforce) -> None:
    resources = sf.restful("")
    assert resources["sobjects"] == "/services/data/v62.0/sobjects"
    assert resources["query"] == "/services/data/v62.0/query"
    assert resources["limits"] == "/services/data/v62.0/limits"


@pytest.mark.parametrize("version", ["30.0", "63.0", "latest"])
def test_unserved_versions_are_not_found(sandbox: RunningSandbox, version: str) -> None:
    answer = raw_session(sandbox).get(f"{sandbox.url}/services/data/v{version}/sobjects/", timeout=30)
    assert answer.status_code == 404
    assert answer.json()[0]["errorCode"] == "NOT_FOUND"


def test_older_served_version_answers_with_its_own_urls(sandbox: RunningSandbox) -> None:
    session = raw_session(sandbox)
    created = session.post(f"{sandbox.url}/services/data/v45.0/sobjects/Account/", json={"Name": "Old"},
                           timeout=30)
    assert created.status_code == 201
    record = session.get(f"{sandbox.url}/services/data/v45.0/sobjects/Account/{created.json()['id']}",
                         timeout=30).json()
    assert record["attributes"]["url"].startswith("/services/data/v45.0/sobjects/Account/")


def test_missing_or_unknown_session_is_401_with_errorcode_list(sandbox: RunningSandbox) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        answer = sandbox.http().get(f"{sandbox.url}/services/data/v62.0/sobjects/", headers=headers, timeout=30)
        assert answer.status_code == 401
        assert answer.json()[0]["errorCode"] == "INVALID_SESSION_ID"


def test_unknown_resource_path_is_not_found_list(sf: Salesforce) -> None:
    with pytest.raises(SalesforceResourceNotFound) as caught:
        sf.restful("no/such/resource")
    assert error_code(caught.value) == "NOT_FOUND"


def test_head_answers_like_get_without_a_body(sandbox: RunningSandbox, sf: Salesforce) -> None:
    account_id = sf.Account.create({"Name": "Headed"})["id"]
    session = raw_session(sandbox)
    url = f"{sandbox.url}/services/data/v62.0/sobjects/Account/{account_id}"
    found = session.head(url, timeout=30)
    assert found.status_code == 200 and found.content == b""
    sf.Account.delete(account_id)
    assert session.head(url, timeout=30).status_code == 404


def test_unsupported_method_is_405(sf: Salesforce) -> None:
    with pytest.raises(SalesforceGeneralError) as caught:
        sf.restful("sobjects/Account/describe", method="PATCH", json={})
    assert caught.value.status == 405
    assert error_code(caught.value) == "METHOD_NOT_ALLOWED"
    assert caught.value.content[0]["message"] == "HTTP Method 'PATCH' not allowed. Allowed are HEAD,GET"


# -- describe -----------------------------------------------------------------------------------------------
def test_describe_global_and_object(sf: Salesforce) -> None:
    names = {item["name"] for item in sf.describe()["sobjects"]}
    assert {"Account", "Contact", "Lead", "Opportunity"} <= names
    account = sf.Account.describe()
    assert account["name"] == "Account"
    assert "Name" in {field["name"] for field in account["fields"]}


def test_describe_urls_follow_the_requested_version(sandbox: RunningSandbox) -> None:
    session = raw_session(sandbox)
    base = f"{sandbox.url}/services/data/v50.0/sobjects"
    described = session.get(f"{base}/Contact/describe/", timeout=30).json()
    assert described["urls"]["sobject"] == "/services/data/v50.0/sobjects/Contact"
    listed = session.get(f"{base}/", timeout=30).json()
    contact = next(item for item in listed["sobjects"] if item["name"] == "Contact")
    assert contact["urls"]["sobject"] == "/services/data/v50.0/sobjects/Contact"


def test_basic_information_lists_recent_items(sf: Salesforce) -> None:
    created = sf.Account.create({"Name": "Recent Co"})
    info = sf.Account.metadata()
    assert info["objectDescribe"]["name"] == "Account"
    recent = {item["Id"]: item for item in info["recentItems"]}
    assert recent[created["id"]]["Name"] == "Recent Co"
    assert recent[created["id"]]["attributes"]["type"] == "Account"


def test_unknown_sobject_is_not_found(sf: Salesforce) -> None:
    for call in (lambda: sf.Nope__c.describe(), lambda: sf.Nope__c.create({"Name": "x"}),
                 lambda: sf.Nope__c.get("001000000000000AAA")):
        with pytest.raises(SalesforceResourceNotFound) as caught:
            call()
        assert caught.value.content == [{"message": "The requested resource does not exist",
                                         "errorCode": "NOT_FOUND", "fields": []}]


# -- create, read, update, delete ---------------------------------------------------------------------------
def test_create_read_update_delete(sf: Salesforce) -> None:
    created = sf.Account.create({"Name": "Acme", "Industry": "Energy"})
    assert created["success"] is True and created["errors"] == []
    account_id = created["id"]
    assert len(account_id) == 18 and account_id.startswith("001")

    record = sf.Account.get(account_id)
    assert record["attributes"] == {"type": "Account", "url": f"/services/data/v62.0/sobjects/Account/{account_id}"}
    assert record["Id"] == account_id and record["Name"] == "Acme" and record["IsDeleted"] is False
    assert not [key for key in record if key.startswith("_")]

    assert sf.Account.update(account_id, {"Name": "Acme Corp"}) == 204
    assert sf.Account.get(account_id)["Name"] == "Acme Corp"

    assert sf.Account.delete(account_id) == 204
    with pytest.raises(SalesforceResourceNotFound) as caught:
        sf.Account.get(account_id)
    assert error_code(caught.value) == "NOT_FOUND"


def test_create_answers_location_of_the_new_record(sandbox: RunningSandbox) -> None:
    answer = raw_session(sandbox).post(f"{sandbox.url}/services/data/v62.0/sobjects/Account",
                                       json={"Name": "Located"}, timeout=30)
    assert answer.status_code == 201
    assert answer.headers["Location"] == f"/services/data/v62.0/sobjects/Account/{answer.json()['id']}"


def test_fifteen_character_id_reads_the_record(sf: Salesforce) -> None:
    account_id = sf.Account.create({"Name": "Short"})["id"]
    assert sf.Account.get(account_id[:15])["Id"] == account_id


def test_read_selected_fields(sf: Salesforce) -> None:
    account_id = sf.Account.create({"Name": "Fields Inc", "Industry": "Banking"})["id"]
    record = sf.Account.get(account_id, params={"fields": "name, INDUSTRY"})
    assert record == {"attributes": {"type": "Account", "url": f"/services/data/v62.0/sobjects/Account/{account_id}"},
                      "Name": "Fields Inc", "Industry": "Banking"}


def test_unknown_field_in_fields_is_invalid_field(sf: Salesforce) -> None:
    account_id = sf.Account.create({"Name": "X"})["id"]
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Account.get(account_id, params={"fields": "Name,Bogus__c"})
    assert error_code(caught.value) == "INVALID_FIELD"
    assert caught.value.content[0]["fields"] == ["Bogus__c"]


def test_writes_to_deleted_records(sf: Salesforce) -> None:
    account_id = sf.Account.create({"Name": "Gone"})["id"]
    sf.Account.delete(account_id)
    with pytest.raises(SalesforceResourceNotFound) as caught:
        sf.Account.delete(account_id)
    assert error_code(caught.value) == "ENTITY_IS_DELETED"
    with pytest.raises(SalesforceResourceNotFound) as caught:
        sf.Account.update(account_id, {"Name": "Back"})
    assert error_code(caught.value) == "ENTITY_IS_DELETED"


def test_unknown_id_of_the_right_object_is_not_found(sf: Salesforce) -> None:
    with pytest.raises(SalesforceResourceNotFound) as caught:
        sf.Account.get("0018d00000000ZZ")
    assert error_code(caught.value) == "NOT_FOUND"


@pytest.mark.parametrize("bad_id", ["abc", "001D000000IqhSLIAA", "003D000000IqhSLIAZ"])
def test_malformed_ids(sf: Salesforce, bad_id: str) -> None:
    """Too short, a wrong checksum, and another object's id are all MALFORMED_ID."""
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Account.get(bad_id)
    assert error_code(caught.value) == "MALFORMED_ID"


def test_validation_errors_come_from_the_write_path(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Account.create({"Industry": "Energy"})
    assert caught.value.content[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert caught.value.content[0]["fields"] == ["Name"]
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Account.create({"Name": "X", "Nonsense__c": 1})
    assert error_code(caught.value) == "INVALID_FIELD"


@pytest.mark.parametrize("body", [b"{bad json", b"", b"[1, 2]", b"\"text\""])
def test_unparseable_bodies_are_json_parser_error(sandbox: RunningSandbox, body: bytes) -> None:
    answer = raw_session(sandbox).post(f"{sandbox.url}/services/data/v62.0/sobjects/Account/", data=body,
                                       headers={"Content-Type": "application/json"}, timeout=30)
    assert answer.status_code == 400
    assert answer.json()[0]["errorCode"] == "JSON_PARSER_ERROR"


# -- upsert and reads by external id -------------------------------------------------------------------------
def test_upsert_inserts_then_updates(sandbox: RunningSandbox, sf: Salesforce) -> None:
    add_external_id(sandbox)
    inserted = sf.Account.upsert(f"{LEGACY_ID}/L-1", {"Name": "Legacy"}, raw_response=True)
    assert inserted.status_code == 201
    body = inserted.json()
    assert body["created"] is True and body["success"] is True and body["errors"] == []
    assert sf.Account.get(body["id"])[LEGACY_ID] == "L-1"

    updated = sf.Account.upsert(f"{LEGACY_ID}/L-1", {"Name": "Legacy Renamed"}, raw_response=True)
    assert updated.status_code == 200
    assert updated.json() == {"id": body["id"], "success": True, "errors": [], "created": False}
    assert sf.Account.get(body["id"])["Name"] == "Legacy Renamed"


def test_upsert_update_before_v46_is_204(sandbox: RunningSandbox) -> None:
    add_external_id(sandbox)
    session = raw_session(sandbox)
    url = f"{sandbox.url}/services/data/v45.0/sobjects/Account/{LEGACY_ID}/L-45"
    inserted = session.patch(url, json={"Name": "Old API"}, timeout=30)
    assert inserted.status_code == 201 and "created" not in inserted.json()
    updated = session.patch(url, json={"Name": "Old API 2"}, timeout=30)
    assert updated.status_code == 204 and updated.content == b""


def test_upsert_with_several_matches_is_300(sandbox: RunningSandbox, sf: Salesforce) -> None:
    add_external_id(sandbox)
    first = sf.Account.create({"Name": "Twin 1"})["id"]
    second = sf.Account.create({"Name": "Twin 2"})["id"]
    set_field(sandbox, first, LEGACY_ID, "TWIN")
    set_field(sandbox, second, LEGACY_ID, "TWIN")
    with pytest.raises(SalesforceMoreThanOneRecord) as caught:
        sf.Account.upsert(f"{LEGACY_ID}/TWIN", {"Name": "Which?"})
    assert sorted(caught.value.content) == sorted(
        f"/services/data/v62.0/sobjects/Account/{record_id}" for record_id in (first, second))
    with pytest.raises(SalesforceMoreThanOneRecord):
        sf.Account.get_by_custom_id(LEGACY_ID, "TWIN")


def test_upsert_on_unknown_external_id_field_is_not_found(sf: Salesforce) -> None:
    for field in ("Nope__c", "Industry"):
        with pytest.raises(SalesforceResourceNotFound) as caught:
            sf.Account.upsert(f"{field}/X", {"Name": "X"})
        assert error_code(caught.value) == "NOT_FOUND"
        assert field in caught.value.content[0]["message"]


def test_upsert_by_id_updates(sf: Salesforce) -> None:
    account_id = sf.Account.create({"Name": "By Id"})["id"]
    assert sf.Account.upsert(f"Id/{account_id}", {"Name": "By Id 2"}) == 200
    assert sf.Account.get(account_id)["Name"] == "By Id 2"


def test_read_and_delete_by_external_id(sandbox: RunningSandbox, sf: Salesforce) -> None:
    add_external_id(sandbox)
    account_id = sf.Account.create({"Name": "Keyed", LEGACY_ID: "K 1"})["id"]
    record = sf.Account.get_by_custom_id(LEGACY_ID, "k 1")
    assert record["Id"] == account_id
    with pytest.raises(SalesforceResourceNotFound):
        sf.Account.get_by_custom_id(LEGACY_ID, "missing")
    assert sf.restful(f"sobjects/Account/{LEGACY_ID}/K 1", method="DELETE") is None
    with pytest.raises(SalesforceResourceNotFound):
        sf.Account.get(account_id)


def test_session_expiry_is_reported_to_the_client(sandbox: RunningSandbox) -> None:
    """An unknown token makes simple-salesforce raise SalesforceExpiredSession (it reads errorCode)."""
    session = sandbox.http()
    client = Salesforce(instance_url=sandbox.url, session_id="00D!expired", session=session, version="62.0")
    with pytest.raises(SalesforceExpiredSession):
        client.Account.get("0018d0000000001AAA")


def test_blob_retrieve_path_is_not_taken_for_an_external_id(sandbox: RunningSandbox, sf: Salesforce) -> None:
    version_id = sf.ContentVersion.create({"Title": "Notes", "PathOnClient": "notes.txt",
                                           "VersionData": base64.b64encode(b"hello bytes").decode()})["id"]
    answer = raw_session(sandbox).get(
        f"{sandbox.url}/services/data/v62.0/sobjects/ContentVersion/{version_id}/VersionData/", timeout=30)
    assert answer.status_code == 200 and answer.content == b"hello bytes"
    results = sf.restful("composite", method="POST", json={"compositeRequest": [{
        "method": "GET", "referenceId": "blob",
        "url": f"/services/data/v62.0/sobjects/ContentVersion/{version_id}/VersionData"}]})["compositeResponse"]
    assert results[0]["httpStatusCode"] == 400


# -- limits -------------------------------------------------------------------------------------------------
def test_limits_report_daily_api_requests(sf: Salesforce) -> None:
    first = sf.limits()
    assert first["DailyApiRequests"]["Max"] == 15000
    sf.Account.create({"Name": "Counted"})
    second = sf.limits()
    assert second["DailyApiRequests"]["Remaining"] == first["DailyApiRequests"]["Remaining"] - 2
    for name in ("DailyBulkV2QueryJobs", "DataStorageMB", "FileStorageMB"):
        assert isinstance(second[name]["Max"], int) and isinstance(second[name]["Remaining"], int)
        assert 0 <= second[name]["Remaining"] <= second[name]["Max"]
