"""The ``composite`` resource: subrequests with references, all-or-none rollback, PROCESSING_HALTED."""

from __future__ import annotations

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from salesbridge.sandbox.server import RunningSandbox

BASE = "/services/data/v62.0"
HALTED_MESSAGE = "The transaction was rolled back since another operation in the same transaction failed."


def sub(method: str, url: str, reference_id: str, body: object = None, **extra: object) -> dict:
    request: dict = {"method": method, "url": BASE + url, "referenceId": reference_id, **extra}
    if body is not None:
        request["body"] = body
    return request


def composite(sf: Salesforce, requests: list[dict], all_or_none: bool = False) -> list[dict]:
    answer = sf.restful("composite", method="POST", json={"allOrNone": all_or_none, "compositeRequest": requests})
    return answer["compositeResponse"]


def test_references_to_earlier_answers(sf: Salesforce) -> None:
    results = composite(sf, [
        sub("POST", "/sobjects/Account", "newAccount", {"Name": "Composite Co"}),
        sub("POST", "/sobjects/Contact", "newContact",
            {"LastName": "Ref", "AccountId": "@{newAccount.id}", "Description": "of @{newAccount.id}"}),
        sub("GET", "/sobjects/Contact/@{newContact.id}?fields=AccountId,Description", "readBack"),
        sub("PATCH", "/sobjects/Account/@{newAccount.id}", "rename", {"Name": "Renamed Co"}),
    ])
    assert [r["referenceId"] for r in results] == ["newAccount", "newContact", "readBack", "rename"]
    assert [r["httpStatusCode"] for r in results] == [201, 201, 200, 204]
    account_id = results[0]["body"]["id"]
    assert results[0]["httpHeaders"] == {"Location": f"{BASE}/sobjects/Account/{account_id}"}
    assert results[2]["body"]["AccountId"] == account_id
    assert results[2]["body"]["Description"] == f"of {account_id}"
    assert results[3]["body"] is None and results[3]["httpHeaders"] == {}
    assert sf.Account.get(account_id)["Name"] == "Renamed Co"


def test_reference_into_a_list(sf: Salesforce) -> None:
    account_id = sf.Account.create({"Name": "Listed"})["id"]
    results = composite(sf, [
        sub("GET", f"/composite/sobjects/Account?ids={account_id}&fields=Id,Name", "accounts"),
        sub("POST", "/sobjects/Contact", "contact", {"LastName": "Idx", "AccountId": "@{accounts[0].Id}"}),
    ])
    assert results[1]["httpStatusCode"] == 201
    assert sf.Contact.get(results[1]["body"]["id"])["AccountId"] == account_id


def test_all_or_none_failure_halts_and_rolls_back(sandbox: RunningSandbox, sf: Salesforce) -> None:
    results = composite(sf, [
        sub("POST", "/sobjects/Account", "good", {"Name": "Undone"}),
        sub("POST", "/sobjects/Contact", "bad", {"FirstName": "No last name", "AccountId": "@{good.id}"}),
        sub("POST", "/sobjects/Account", "never", {"Name": "Never"}),
    ], all_or_none=True)
    assert [r["httpStatusCode"] for r in results] == [400, 400, 400]
    assert results[1]["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    for halted in (results[0], results[2]):
        assert halted["body"] == [{"message": HALTED_MESSAGE, "errorCode": "PROCESSING_HALTED", "fields": []}]
    assert sandbox.org.store.records("Account") == []
    assert sandbox.org.store.records("Contact") == []


def test_without_all_or_none_only_dependents_halt(sandbox: RunningSandbox, sf: Salesforce) -> None:
    results = composite(sf, [
        sub("POST", "/sobjects/Account", "bad", {"Industry": "No name"}),
        sub("POST", "/sobjects/Contact", "dependent", {"LastName": "X", "AccountId": "@{bad.id}"}),
        sub("POST", "/sobjects/Account", "independent", {"Name": "Stays"}),
    ])
    assert [r["httpStatusCode"] for r in results] == [400, 400, 201]
    assert results[0]["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert results[1]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert "bad.id" in results[1]["body"][0]["message"]
    assert [r["Name"] for r in sandbox.org.store.records("Account")] == ["Stays"]


def test_collection_failure_fails_an_all_or_none_composite(sandbox: RunningSandbox, sf: Salesforce) -> None:
    """The outer allOrNone overrides the collection's own flag (Salesforce's documented rule)."""
    results = composite(sf, [
        sub("POST", "/sobjects/Account", "first", {"Name": "Outer"}),
        sub("POST", "/composite/sobjects", "batch", {"allOrNone": False, "records": [
            {"attributes": {"type": "Account"}, "Name": "Inner ok"},
            {"attributes": {"type": "Account"}}]}),
    ], all_or_none=True)
    assert results[0]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    batch = results[1]["body"]
    assert batch[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert batch[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert sandbox.org.store.records("Account") == []


def test_collection_keeps_its_own_flag_when_composite_is_not_all_or_none(sandbox: RunningSandbox,
                                                                        sf: Salesforce) -> None:
    results = composite(sf, [
        sub("POST", "/composite/sobjects", "batch", {"records": [
            {"attributes": {"type": "Account"}, "Name": "Kept"}, {"attributes": {"type": "Account"}}]}),
    ])
    assert results[0]["httpStatusCode"] == 200
    assert [r["success"] for r in results[0]["body"]] == [True, False]
    assert [r["Name"] for r in sandbox.org.store.records("Account")] == ["Kept"]


def test_subrequest_errors_keep_their_status(sf: Salesforce) -> None:
    results = composite(sf, [
        sub("GET", "/sobjects/Account/001000000000000", "missing"),
        sub("GET", "/no/such/thing", "unknown"),
        sub("DELETE", "/sobjects/Account/describe", "wrongMethod"),
        {"method": "GET", "url": "/services/data/v20.0/sobjects", "referenceId": "oldVersion"},
    ])
    assert [r["httpStatusCode"] for r in results] == [404, 404, 405, 404]
    assert results[0]["body"][0]["errorCode"] == "NOT_FOUND"


def test_query_subrequest_with_header(sf: Salesforce) -> None:
    for index in range(3):
        sf.Account.create({"Name": f"Q{index}"})
    results = composite(sf, [
        sub("GET", "/query/?q=SELECT+Id,+Name+FROM+Account+ORDER+BY+Name", "accounts",
            httpHeaders={"Sforce-Query-Options": "batchSize=200"}),
        sub("PATCH", "/sobjects/Account/@{accounts.records[2].Id}", "rename", {"Name": "Q2 renamed"}),
    ])
    assert results[0]["body"]["totalSize"] == 3
    assert results[1]["httpStatusCode"] == 204
    names = sorted(record["Name"] for record in sf.query("SELECT Name FROM Account")["records"])
    assert names == ["Q0", "Q1", "Q2 renamed"]


@pytest.mark.parametrize("body, code", [
    ({"compositeRequest": [sub("GET", "/limits", f"r{i}") for i in range(26)]}, "LIMIT_EXCEEDED"),
    ({"compositeRequest": []}, "JSON_PARSER_ERROR"),
    ({"compositeRequest": [sub("GET", "/limits", "same"), sub("GET", "/limits", "same")]}, "INVALID_API_INPUT"),
    ({"compositeRequest": [sub("GET", "/limits", "bad-id")]}, "INVALID_API_INPUT"),
    ({"compositeRequest": [{"method": "GET", "referenceId": "noUrl"}]}, "JSON_PARSER_ERROR"),
])
def test_malformed_composite_requests(sf: Salesforce, body: dict, code: str) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.restful("composite", method="POST", json=body)
    assert caught.value.content[0]["errorCode"] == code


def test_twenty_five_subrequests_are_allowed(sf: Salesforce) -> None:
    results = composite(sf, [sub("POST", "/sobjects/Account", f"a{i}", {"Name": f"N{i}"}) for i in range(25)])
    assert [r["httpStatusCode"] for r in results] == [201] * 25


def test_composite_cannot_nest(sf: Salesforce) -> None:
    results = composite(sf, [sub("POST", "/composite", "inner", {"compositeRequest": []})])
    assert results[0]["httpStatusCode"] == 400
