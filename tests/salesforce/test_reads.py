"""Reads: paged queries, records by id, describes, the replication API, users, and lead conversion."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sf_helpers import ADMIN

from salesbridge.salesforce import SalesforceClient, SalesforceError
from salesbridge.sandbox.server import RunningSandbox


def _seed(sandbox: RunningSandbox, object_name: str, values: list[dict]) -> list[str]:
    admin_id = sandbox.org.user_record(ADMIN)["Id"]
    return [sandbox.org.records.create(object_name, item, admin_id) for item in values]


def test_query_pages_over_more_than_2000_records(sandbox: RunningSandbox, client: SalesforceClient) -> None:
    ids = _seed(sandbox, "Account", [{"Name": f"Account {n:05d}"} for n in range(2500)])
    pages = list(client.query("SELECT Id, Name FROM Account ORDER BY Name"))
    assert [len(page) for page in pages] == [2000, 500]
    assert [record["Id"] for page in pages for record in page] == ids
    assert client.api_calls == 2

    client.reset_counter()
    pages = list(client.query("SELECT Id FROM Account", batch_size=500))
    assert [len(page) for page in pages] == [500] * 5
    assert client.api_calls == 5


def test_query_all_and_deleted_records(sandbox: RunningSandbox, client: SalesforceClient) -> None:
    kept, gone = _seed(sandbox, "Account", [{"Name": "Kept"}, {"Name": "Gone"}])
    assert client.delete([gone])[0].success
    live = client.query_all("SELECT Id FROM Account")
    everything = client.query_all("SELECT Id, IsDeleted FROM Account", include_deleted=True)
    assert [r["Id"] for r in live] == [kept]
    assert {(r["Id"], r["IsDeleted"]) for r in everything} == {(kept, False), (gone, True)}
    assert client.count("SELECT COUNT() FROM Account") == 1


def test_get_and_describe(sandbox: RunningSandbox, client: SalesforceClient) -> None:
    [account_id] = _seed(sandbox, "Account", [{"Name": "Acme", "Industry": "Energy"}])
    record = client.get("Account", account_id, ["Name", "Industry"])
    assert record is not None and (record["Name"], record["Industry"]) == ("Acme", "Energy")
    assert "Website" not in record
    assert client.get("Account", "001000000000000AAA") is None
    describe = client.describe("Account")
    assert describe["name"] == "Account" and any(f["name"] == "Industry" for f in describe["fields"])
    assert client.describe("account") is describe
    names = {item["name"] for item in client.describe_global()["sobjects"]}
    assert {"Account", "Contact", "Lead"} <= names
    client.describe_global()
    assert client.api_calls == 4  # get, get (404), describe, describeGlobal: the repeats were cached


def test_get_updated_and_get_deleted(sandbox: RunningSandbox, client: SalesforceClient) -> None:
    start = datetime.now(UTC) - timedelta(minutes=5)
    first, second = _seed(sandbox, "Contact", [{"LastName": "One"}, {"LastName": "Two"}])
    client.delete([second])
    end = datetime.now(UTC) + timedelta(minutes=1)
    updated = client.get_updated("Contact", start, end)
    assert updated.ids == [first]
    assert updated.latest_date_covered.tzinfo is not None
    deleted = client.get_deleted("Contact", start, end)
    assert [record.id for record in deleted.records] == [second]
    assert start <= deleted.records[0].deleted_date <= end
    assert deleted.earliest_date_available is not None


def test_find_user_by_username_or_email(sandbox: RunningSandbox, client: SalesforceClient) -> None:
    user = client.find_user("Sales.Manager@sandbox.example")
    assert user is not None and user["Username"] == "sales.manager@sandbox.example"
    assert user["Id"] == sandbox.org.user_record("sales.manager@sandbox.example")["Id"]
    assert client.find_user("nobody@example.com") is None
    assert client.find_user("o'brien@example.com") is None  # quoted, not injected


def test_convert_lead(sandbox: RunningSandbox, client: SalesforceClient) -> None:
    [lead_id] = _seed(sandbox, "Lead", [{"LastName": "Lee", "Company": "Lee Ltd", "Status": "Open - Not Contacted"}])
    answer = client.convert_lead(lead_id, "Closed - Converted", opportunity_name="Lee deal")
    assert answer["leadId"] == lead_id
    lead = sandbox.org.store.get(lead_id)
    assert lead["IsConverted"] is True
    assert (answer["accountId"], answer["contactId"], answer["opportunityId"]) == (
        lead["ConvertedAccountId"], lead["ConvertedContactId"], lead["ConvertedOpportunityId"])
    assert sandbox.org.store.get(answer["opportunityId"])["Name"] == "Lee deal"
    assert client.api_calls == 1
    assert client.org_usage == (sandbox.org.api_usage.used, 15000)

    with pytest.raises(SalesforceError) as caught:
        client.convert_lead(lead_id, "Closed - Converted")
    assert caught.value.error_code == "CANNOT_UPDATE_CONVERTED_LEAD"
    assert caught.value.status is None  # a per-lead error, not an HTTP failure


def test_convert_lead_without_opportunity_into_an_existing_account(sandbox: RunningSandbox,
                                                                   client: SalesforceClient) -> None:
    [account_id] = _seed(sandbox, "Account", [{"Name": "Existing"}])
    [lead_id] = _seed(sandbox, "Lead", [{"LastName": "Kim", "Company": "Existing"}])
    answer = client.convert_lead(lead_id, "Closed - Converted", account_id=account_id,
                                 do_not_create_opportunity=True)
    assert answer["accountId"] == account_id and answer["opportunityId"] is None
