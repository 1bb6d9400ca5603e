"""Writes under the bulk threshold (sObject Collections) and above it (Bulk API 2.0): one result per input in
input order, partial failures at the right index, and as few calls as Salesforce allows."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from sf_helpers import Admin, RecordedSleeps

from salesbridge.salesforce import SalesforceClient, WriteResult
from salesbridge.sandbox.faults import FaultSettings
from salesbridge.sandbox.server import RunningSandbox, start_in_thread

EXAMPLE_SCHEMA = Path(__file__).parents[2] / "salesbridge" / "sandbox" / "schema" / "example_schema.yaml"
MakeClient = Callable[..., SalesforceClient]


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    """The standard objects plus the example schema's ``Hub_Id__c`` external id fields (for upserts)."""
    running = start_in_thread(schema_files=[EXAMPLE_SCHEMA])
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def bulk_client(make_client: MakeClient) -> SalesforceClient:
    """Bulk API 2.0 above 50 records, to keep the tests small."""
    return make_client(bulk_threshold=50)


@pytest.fixture
def requests_made(bulk_client: SalesforceClient) -> list[str]:
    """``METHOD /path`` of every request the bulk client sends (job ids as ``*``), seen from its own session."""
    made: list[str] = []

    def note(response: requests.Response, *args: object, **kwargs: object) -> None:
        path = urlsplit(response.request.url or "").path.split("/v62.0", 1)[-1]
        made.append(f"{response.request.method} {re.sub(r'/750[0-9A-Za-z]{15}', '/*', path)}")

    bulk_client._conn.http.hooks["response"].append(note)  # the client's session (private: test only)
    return made


def _stored(sandbox: RunningSandbox, record_id: str | None) -> dict[str, Any]:
    assert record_id is not None
    record = sandbox.org.store.get(record_id)
    assert record is not None, record_id
    return record


def _contacts(count: int, missing_name_at: tuple[int, ...] = ()) -> list[dict[str, Any]]:
    return [{"FirstName": "Test"} if n in missing_name_at else {"FirstName": "Test", "LastName": f"Contact {n:04d}"}
            for n in range(count)]


def _assert_contacts_written(sandbox: RunningSandbox, records: list[dict[str, Any]], results: list[WriteResult],
                             failing: tuple[int, ...]) -> None:
    assert [result.index for result in results] == list(range(len(records)))
    for index, (record, result) in enumerate(zip(records, results, strict=True)):
        if index in failing:
            assert not result.success and result.id is None
            assert result.error_codes == ["REQUIRED_FIELD_MISSING"]
            assert result.errors[0].fields == ["LastName"]
        else:
            assert result.success and result.created is True, result
            assert _stored(sandbox, result.id)["LastName"] == record["LastName"]


# -- sObject Collections -----------------------------------------------------------------------------------------
def test_collections_create_maps_partial_failures_to_their_input(sandbox: RunningSandbox,
                                                                 client: SalesforceClient) -> None:
    records = _contacts(450, missing_name_at=(3, 201, 449))
    results = client.create("Contact", records)
    _assert_contacts_written(sandbox, records, results, (3, 201, 449))
    assert client.api_calls == 3


def test_a_thousand_creates_take_five_calls(client: SalesforceClient) -> None:
    results = client.create("Account", [{"Name": f"Account {n}"} for n in range(1000)])
    assert all(result.success for result in results)
    assert len({result.id for result in results}) == 1000
    assert client.api_calls == 5


def test_collections_update_upsert_and_delete(sandbox: RunningSandbox, client: SalesforceClient) -> None:
    created = client.create("Account", [{"Name": "A", "Hub_Id__c": "hub-a"}, {"Name": "B"}])
    a_id, b_id = created[0].id, created[1].id
    assert a_id and b_id

    updated = client.update("Account", [{"Id": b_id, "Name": "B2"}, {"Id": "001000000000000AAA", "Name": "X"},
                                        {"Id": a_id, "Name": "A2"}])
    assert [r.success for r in updated] == [True, False, True]
    assert updated[1].id == "001000000000000AAA" and updated[1].error_codes
    assert (updated[0].created, _stored(sandbox, b_id)["Name"]) == (False, "B2")

    upserted = client.upsert("Account", "Hub_Id__c", [{"Hub_Id__c": "hub-new", "Name": "New"},
                                                      {"Hub_Id__c": "hub-a", "Name": "A3"},
                                                      {"Hub_Id__c": "hub-bad"}])
    assert [(r.success, r.created) for r in upserted] == [(True, True), (True, False), (False, None)]
    assert upserted[1].id == a_id and _stored(sandbox, a_id)["Name"] == "A3"
    assert upserted[2].error_codes == ["REQUIRED_FIELD_MISSING"]

    deleted = client.delete([a_id, "001000000000000AAA", b_id])
    assert [r.success for r in deleted] == [True, False, True]
    assert [r.id for r in deleted] == [a_id, "001000000000000AAA", b_id]
    assert _stored(sandbox, a_id)["IsDeleted"] is True


def test_values_are_serialised_for_the_wire(sandbox: RunningSandbox, make_client: MakeClient) -> None:
    moment = datetime(2026, 3, 4, 5, 6, 7, 890000, tzinfo=UTC)
    record = {"Name": "Opportunity", "StageName": "Prospecting", "CloseDate": date(2026, 12, 31),
              "Amount": Decimal("1234.50"), "Probability": Decimal("10")}
    task = {"Subject": "Call", "ActivityDate": date(2026, 1, 2), "ReminderDateTime": moment,
            "IsReminderSet": True, "Description": None}
    for client in (make_client(), make_client(bulk_threshold=0)):
        [opportunity] = client.create("Opportunity", [record])
        stored = _stored(sandbox, opportunity.id)
        assert (stored["CloseDate"], stored["Amount"], stored["Probability"]) == ("2026-12-31", 1234.5, 10)
        [created_task] = client.create("Task", [task])
        stored = _stored(sandbox, created_task.id)
        assert stored["ReminderDateTime"] == "2026-03-04T05:06:07.890+0000"
        assert (stored["ActivityDate"], stored["IsReminderSet"], stored["Description"]) == ("2026-01-02", True, None)


def test_a_value_that_cannot_be_sent_fails_alone(client: SalesforceClient) -> None:
    results = client.create("Account", [{"Name": "fine"}, {"Name": object()}, {"Name": "also fine"}])
    assert [r.success for r in results] == [True, False, True]
    assert results[1].error_codes == ["INVALID_VALUE"]
    assert client.api_calls == 1


def test_empty_writes_make_no_calls(client: SalesforceClient) -> None:
    assert client.create("Account", []) == [] and client.delete([]) == []
    assert client.api_calls == 0


# -- Bulk API 2.0 ------------------------------------------------------------------------------------------------
def test_bulk_create_maps_partial_failures_to_their_input(sandbox: RunningSandbox, bulk_client: SalesforceClient,
                                                          requests_made: list[str]) -> None:
    records = _contacts(120, missing_name_at=(7, 42, 119))
    records[60] = dict(records[10])  # identical rows get one result each
    records[61] = dict(records[10])
    results = bulk_client.create("Contact", records)
    _assert_contacts_written(sandbox, records, results, (7, 42, 119))
    assert len({r.id for r in results if r.success}) == 117
    steps = [step for step in requests_made if "/jobs/ingest" in step]
    assert steps[:3] == ["POST /jobs/ingest", "PUT /jobs/ingest/*/batches", "PATCH /jobs/ingest/*"]
    assert steps[-2:] == ["GET /jobs/ingest/*/successfulResults", "GET /jobs/ingest/*/failedResults"]
    assert set(steps[3:-2]) == {"GET /jobs/ingest/*"}  # status polls until JobComplete
    assert bulk_client.api_calls == len(requests_made) == len(steps)


def test_bulk_update_reports_the_id_of_a_failed_record(sandbox: RunningSandbox,
                                                       bulk_client: SalesforceClient) -> None:
    created = bulk_client.create("Account", [{"Name": f"Account {n}"} for n in range(60)])
    ids = [r.id for r in created]
    changes: list[dict[str, Any]] = [{"Id": record_id, "Name": f"Renamed {n}"} for n, record_id in enumerate(ids)]
    changes[30] = {"Id": "001000000000000AAA", "Name": "Nobody"}
    changes[31] = {"Id": ids[31], "Name": None}  # Name is required: clearing it fails
    results = bulk_client.update("Account", changes)
    for n, result in enumerate(results):
        assert result.index == n
        if n == 30:
            assert not result.success and result.id == "001000000000000AAA"
        elif n == 31:
            assert not result.success and result.id == ids[31] and result.error_codes == ["REQUIRED_FIELD_MISSING"]
        else:
            assert result.success and result.id == ids[n] and result.created is False
            assert _stored(sandbox, ids[n])["Name"] == f"Renamed {n}"


def test_bulk_upsert_tells_created_from_updated(sandbox: RunningSandbox, bulk_client: SalesforceClient) -> None:
    existing = bulk_client.create("Account", [{"Name": f"Old {n}", "Hub_Id__c": f"hub-{n}"} for n in range(30)])
    rows: list[dict[str, Any]] = [{"Hub_Id__c": f"hub-{n}", "Name": f"Upserted {n}"} for n in range(60)]
    rows[45] = {"Hub_Id__c": "hub-45"}  # new record without its required Name
    results = bulk_client.upsert("Account", "Hub_Id__c", rows)
    for n, result in enumerate(results):
        if n == 45:
            assert not result.success and result.error_codes == ["REQUIRED_FIELD_MISSING"]
            continue
        assert result.success and result.created is (n >= 30)
        if n < 30:
            assert result.id == existing[n].id
        assert _stored(sandbox, result.id)["Name"] == f"Upserted {n}"


def test_bulk_delete_spans_objects_by_key_prefix(sandbox: RunningSandbox, bulk_client: SalesforceClient) -> None:
    accounts = [r.id for r in bulk_client.create("Account", [{"Name": f"A{n}"} for n in range(30)])]
    contacts = [r.id for r in bulk_client.create("Contact", _contacts(30))]
    ids: list[str] = [record_id for pair in zip(accounts, contacts, strict=True) for record_id in pair if record_id]
    ids.insert(17, "zzz000000000000AAA")
    results = bulk_client.delete(ids)
    assert [r.index for r in results] == list(range(61))
    assert results[17].error_codes == ["MALFORMED_ID"] and not results[17].success
    assert all(r.success and r.id == ids[r.index] for r in results if r.index != 17)
    assert all(_stored(sandbox, record_id)["IsDeleted"] for record_id in accounts + contacts)


def test_bulk_row_lock_failures_are_sent_again(sandbox: RunningSandbox, admin: Admin,
                                               bulk_client: SalesforceClient) -> None:
    bulk_client.login()
    admin.faults(lock_next_writes=4)
    records = _contacts(80)
    results = bulk_client.create("Contact", records)
    _assert_contacts_written(sandbox, records, results, ())


# -- Bulk jobs under failure: each step is renewed or retried on its own, never duplicated ------------------------
def _after_first(client: SalesforceClient, method: str, path_end: str, action: Callable[[], None]) -> None:
    """Run ``action`` once, right after the client's first ``method`` request whose path ends with ``path_end``."""
    done: list[bool] = []

    def hook(response: requests.Response, *args: object, **kwargs: object) -> None:
        request = response.request
        if not done and request.method == method and urlsplit(request.url or "").path.endswith(path_end):
            done.append(True)
            action()

    client._conn.http.hooks["response"].append(hook)  # the client's session (private: test only)


def bulk_jobs(sandbox: RunningSandbox) -> list[dict[str, Any]]:
    """Every ingest job of the org, through the Bulk API's own listing."""
    _, token = sandbox.login()
    response = sandbox.http().get(f"{sandbox.url}/services/data/v62.0/jobs/ingest",
                                  headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["records"]


def test_bulk_job_survives_a_session_expiring_mid_job(sandbox: RunningSandbox,
                                                      bulk_client: SalesforceClient) -> None:
    _after_first(bulk_client, "PUT", "/batches", sandbox.org.sessions.expire_all)
    records = _contacts(60)
    results = bulk_client.create("Contact", records)
    _assert_contacts_written(sandbox, records, results, ())
    assert bulk_client.logins == 2
    assert [job["state"] for job in bulk_jobs(sandbox)] == ["JobComplete"]
    assert len(list(sandbox.org.store.records("Contact"))) == 60


def test_failed_upload_aborts_the_job_and_starts_a_new_one(sandbox: RunningSandbox, sleeps: RecordedSleeps,
                                                           bulk_client: SalesforceClient) -> None:
    _after_first(bulk_client, "POST", "/jobs/ingest",
                 lambda: sandbox.org.faults.configure(FaultSettings(fail_next_requests=1)))
    records = _contacts(60)
    results = bulk_client.create("Contact", records)
    _assert_contacts_written(sandbox, records, results, ())
    assert sorted(job["state"] for job in bulk_jobs(sandbox)) == ["Aborted", "JobComplete"]
    assert len(list(sandbox.org.store.records("Contact"))) == 60
    assert sleeps == [0.5]


def test_a_lost_close_answer_is_checked_not_repeated(sandbox: RunningSandbox,
                                                     bulk_client: SalesforceClient) -> None:
    _after_first(bulk_client, "PUT", "/batches",
                 lambda: sandbox.org.faults.configure(FaultSettings(fail_next_requests=1, error_after=True)))
    records = _contacts(60)
    results = bulk_client.create("Contact", records)
    _assert_contacts_written(sandbox, records, results, ())
    assert [job["state"] for job in bulk_jobs(sandbox)] == ["JobComplete"]
    assert len(list(sandbox.org.store.records("Contact"))) == 60


def test_parents_named_by_external_id(sandbox: RunningSandbox, make_client: MakeClient) -> None:
    """``{"Account": {"Hub_Id__c": ...}}`` links a child to its parent by external id, in JSON and in CSV."""
    setup = make_client()
    [account] = setup.create("Account", [{"Name": "Parent", "Hub_Id__c": "hub-parent"}])
    for client in (setup, make_client(bulk_threshold=0)):
        [contact] = client.create("Contact", [{"LastName": "Child", "Account": {"Hub_Id__c": "hub-parent"}}])
        assert contact.success, contact
        assert _stored(sandbox, contact.id)["AccountId"] == account.id
