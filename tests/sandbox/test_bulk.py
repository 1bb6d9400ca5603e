"""Bulk API 2.0 in the sandbox, driven by unmodified simple-salesforce (``sf.bulk2``) and raw HTTP for errors."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceOperationError

from salesbridge.sandbox import bulk_csv, ids
from salesbridge.sandbox.bulk_ingest import IngestRun, plan_columns
from salesbridge.sandbox.bulk_lookup import FieldValueIndex
from salesbridge.sandbox.bulk_service import BulkService, bulk_service
from salesbridge.sandbox.errors import SandboxApiError
from salesbridge.sandbox.schema import FieldDef
from salesbridge.sandbox.server import RunningSandbox, build_org, start_in_thread

#: simple-salesforce sleeps ``wait`` seconds before its first status poll; keep tests quick.
WAIT = 0.1
HUB_ID = "Hub_Id__c"


# -- helpers -------------------------------------------------------------------------------------------
def add_hub_id(sandbox: RunningSandbox, object_name: str = "Account") -> None:
    """Give the fresh org's object an external id field, as a custom field marked External ID would."""
    sandbox.org.schema.get(object_name).add_field(
        FieldDef(HUB_ID, "string", length=50, external_id=True, custom=True))


def raw(sf: Salesforce) -> requests.Session:
    """The client's own HTTPS session, with its bearer token, for requests simple-salesforce has no call for."""
    session = requests.Session()
    session.verify = sf.session.verify
    session.headers["Authorization"] = f"Bearer {sf.session_id}"
    return session


def jobs_url(sf: Salesforce, kind: str, *parts: str) -> str:
    return sf.bulk2_url + "/".join((kind, *parts))


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def create_ingest_job(sf: Salesforce, body: dict) -> dict:
    response = raw(sf).post(jobs_url(sf, "ingest"), json=body)
    assert response.status_code == 200, response.text
    return response.json()


def run_ingest_job(sandbox: RunningSandbox, sf: Salesforce, body: dict, data: str) -> dict:
    """Create, upload, close and wait for a job over raw HTTP; answers the final job info."""
    job = create_ingest_job(sf, body)
    session = raw(sf)
    upload = session.put(jobs_url(sf, "ingest", job["id"], "batches"), data=data.encode(),
                         headers={"Content-Type": "text/csv"})
    assert upload.status_code == 201, upload.text
    closed = session.patch(jobs_url(sf, "ingest", job["id"]), json={"state": "UploadComplete"})
    assert closed.status_code == 200, closed.text
    bulk_service(sandbox.org).wait(job["id"], timeout=120)
    return session.get(jobs_url(sf, "ingest", job["id"])).json()


def query_csv(sf: Salesforce, query: str, *, all_rows: bool = False, max_records: int = 50_000) -> list[str]:
    """The pages of a Bulk API 2.0 query as simple-salesforce fetches them."""
    run = sf.bulk2.Account.query_all if all_rows else sf.bulk2.Account.query
    return list(run(query, max_records=max_records, wait=WAIT))


def error_of(response: requests.Response) -> tuple[int, str, str]:
    body = response.json()
    assert isinstance(body, list) and set(body[0]) == {"errorCode", "message"}, body
    return response.status_code, body[0]["errorCode"], body[0]["message"]


# -- ingest through simple-salesforce ---------------------------------------------------------------------
def test_ten_thousand_inserted_records_come_back_from_a_paged_query(sf: Salesforce) -> None:
    records = [{"Name": f"Bulk {number:05d}", "NumberOfEmployees": str(number)} for number in range(10_000)]
    [result] = sf.bulk2.Account.insert(records=records, wait=WAIT)
    assert result["numberRecordsProcessed"] == 10_000 and result["numberRecordsFailed"] == 0

    created = rows(sf.bulk2.Account.get_successful_records(result["job_id"]))
    assert len(created) == 10_000 and {row["sf__Created"] for row in created} == {"true"}

    pages = query_csv(sf, "SELECT Id, Name, NumberOfEmployees FROM Account WHERE Name LIKE 'Bulk %'",
                      max_records=3_000)
    assert [len(rows(page)) for page in pages] == [3_000, 3_000, 3_000, 1_000]
    assert pages[0].splitlines()[0] == '"Id","Name","NumberOfEmployees"'
    queried = [row for page in pages for row in rows(page)]
    assert {row["Id"] for row in queried} == {row["sf__Id"] for row in created}
    by_name = {row["Name"]: row for row in queried}
    assert by_name["Bulk 04242"]["NumberOfEmployees"] == "4242"


def test_successful_results_pair_each_created_id_with_the_row_as_uploaded(sandbox: RunningSandbox,
                                                                           sf: Salesforce) -> None:
    [result] = sf.bulk2.Contact.insert(records=[{"LastName": "Ng", "FirstName": "Ann"},
                                                {"LastName": "Ode", "FirstName": ""}], wait=WAIT)
    store = sandbox.org.store
    ng, ode = (next(r["Id"] for r in store.records("Contact") if r["LastName"] == name) for name in ("Ng", "Ode"))
    text = sf.bulk2.Contact.get_successful_records(result["job_id"])
    header = text.splitlines()[0]
    assert header.startswith('"sf__Id","sf__Created",')
    assert sorted(header.split(",")[2:]) == ["FirstName", "LastName"]
    assert {(row["sf__Id"], row["LastName"], row["FirstName"]) for row in rows(text)} == {
        (ng, "Ng", "Ann"), (ode, "Ode", "")}
    assert store.get(ode)["FirstName"] is None


def test_failed_rows_are_reported_in_salesforce_form_and_do_not_stop_the_others(
        sandbox: RunningSandbox, sf: Salesforce) -> None:
    data = ("LastName,FirstName,Birthdate\n"
            "Ng,Ann,1990-04-01\n"
            ",Bea,\n"
            "Ode,Cy,01/04/1990\n"
            "Poe,Di,\n")
    job = run_ingest_job(sandbox, sf, {"object": "Contact", "operation": "insert"}, data)
    assert (job["state"], job["numberRecordsProcessed"], job["numberRecordsFailed"]) == ("JobComplete", 4, 2)

    failed = raw(sf).get(jobs_url(sf, "ingest", job["id"], "failedResults"))
    assert failed.status_code == 200 and failed.headers["content-type"].startswith("text/csv")
    assert failed.text == (
        '"sf__Id","sf__Error",LastName,FirstName,Birthdate\n'
        '"","REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --","","Bea",""\n'
        '"","INVALID_FIELD:Failed to deserialize field at col 3. Due to, \'01/04/1990\' is not a valid value '
        'for the type xsd:date:--","Ode","Cy","01/04/1990"\n'
    )
    assert sorted(r["LastName"] for r in sandbox.org.store.records("Contact")) == ["Ng", "Poe"]
    assert [r["Birthdate"] for r in sandbox.org.store.records("Contact") if r["LastName"] == "Ng"] == ["1990-04-01"]


def test_update_writes_given_cells_leaves_empty_ones_and_nulls_na(sandbox: RunningSandbox, sf: Salesforce) -> None:
    first = sf.Account.create({"Name": "Acme", "Phone": "111", "NumberOfEmployees": 5})["id"]
    second = sf.Account.create({"Name": "Globex", "Phone": "222", "NumberOfEmployees": 7})["id"]
    [result] = sf.bulk2.Account.update(records=[
        {"Id": first, "Name": "", "Phone": "999", "NumberOfEmployees": "#N/A"},
        {"Id": second, "Name": "Globex Corp", "Phone": "", "NumberOfEmployees": "70"},
    ], wait=WAIT)
    assert (result["numberRecordsProcessed"], result["numberRecordsFailed"]) == (2, 0)
    store = sandbox.org.store
    assert (store.get(first)["Name"], store.get(first)["Phone"], store.get(first)["NumberOfEmployees"]) == (
        "Acme", "999", None)
    assert (store.get(second)["Name"], store.get(second)["Phone"], store.get(second)["NumberOfEmployees"]) == (
        "Globex Corp", "222", 70)
    assert {row["sf__Created"] for row in rows(sf.bulk2.Account.get_successful_records(result["job_id"]))} == {
        "false"}


def test_update_of_unknown_or_missing_ids_fails_those_rows(sandbox: RunningSandbox, sf: Salesforce) -> None:
    live = sf.Account.create({"Name": "Live"})["id"]
    gone = sf.Account.create({"Name": "Gone"})["id"]
    sf.Account.delete(gone)
    unknown = ids.make_id("001", 999_999)
    data = f"Id,Name\n{live},Renamed\n{gone},Back\n{unknown},Nobody\n,No id\n"
    job = run_ingest_job(sandbox, sf, {"object": "Account", "operation": "update"}, data)
    assert (job["numberRecordsProcessed"], job["numberRecordsFailed"]) == (4, 3)
    failed = {row["Name"]: (row["sf__Id"], row["sf__Error"])
              for row in rows(raw(sf).get(jobs_url(sf, "ingest", job["id"], "failedResults")).text)}
    assert failed == {
        "Back": (gone, "ENTITY_IS_DELETED:entity is deleted:--"),
        "Nobody": (unknown, "INVALID_CROSS_REFERENCE_KEY:invalid cross reference id:--"),
        "No id": ("", "MISSING_ARGUMENT:Id not specified in an update call:--"),
    }
    assert sandbox.org.store.get(live)["Name"] == "Renamed"


def test_upsert_on_an_external_id_updates_matches_and_inserts_the_rest(sandbox: RunningSandbox,
                                                                        sf: Salesforce) -> None:
    add_hub_id(sandbox)
    existing = sf.Account.create({"Name": "Old A", HUB_ID: "H-1"})["id"]
    sf.Account.create({"Name": "Old B", HUB_ID: "H-2"})
    [result] = sf.bulk2.Account.upsert(records=[
        {HUB_ID: "h-1", "Name": "New A"}, {HUB_ID: "H-2", "Name": ""}, {HUB_ID: "H-3", "Name": "New C"},
    ], external_id_field=HUB_ID, wait=WAIT)
    assert (result["numberRecordsProcessed"], result["numberRecordsFailed"]) == (3, 0)
    outcome = {row[HUB_ID]: (row["sf__Id"], row["sf__Created"])
               for row in rows(sf.bulk2.Account.get_successful_records(result["job_id"]))}
    assert outcome["h-1"] == (existing, "false") and outcome["H-2"][1] == "false"
    assert outcome["H-3"][1] == "true"
    names = {r[HUB_ID]: r["Name"] for r in sandbox.org.store.records("Account")}
    assert names == {"H-1": "New A", "H-2": "Old B", "H-3": "New C"}
    info = sf.bulk2.Account._client.get_job(result["job_id"], False)
    assert info["externalIdFieldName"] == HUB_ID and info["operation"] == "upsert"


def test_upsert_with_several_matches_fails_that_row_with_duplicate_external_id(sandbox: RunningSandbox,
                                                                                sf: Salesforce) -> None:
    add_hub_id(sandbox)
    first = sf.Account.create({"Name": "One"})["id"]
    second = sf.Account.create({"Name": "Two"})["id"]
    for record_id in (first, second):
        record = dict(sandbox.org.store.get(record_id))
        record[HUB_ID] = "DUP"
        sandbox.org.store.put("Account", record)
    job = run_ingest_job(sandbox, sf, {"object": "Account", "operation": "upsert", "externalIdFieldName": HUB_ID},
                         f"{HUB_ID},Name\nDUP,Three\n")
    [failed] = rows(raw(sf).get(jobs_url(sf, "ingest", job["id"], "failedResults")).text)
    assert failed["sf__Error"] == (f"DUPLICATE_EXTERNAL_ID:more than one record found for external id field: "
                                   f"[{first}, {second}]:--")


def test_relationship_columns_set_lookups_through_the_parents_external_id(sandbox: RunningSandbox,
                                                                          sf: Salesforce) -> None:
    add_hub_id(sandbox)
    account = sf.Account.create({"Name": "Parent", HUB_ID: "P-1"})["id"]
    data = f"LastName,Account.{HUB_ID}\nKid,p-1\nStray,P-404\nOrphan,\n"
    job = run_ingest_job(sandbox, sf, {"object": "Contact", "operation": "insert"}, data)
    assert job["numberRecordsFailed"] == 1
    contacts = {r["LastName"]: r["AccountId"] for r in sandbox.org.store.records("Contact")}
    assert contacts == {"Kid": account, "Orphan": None}
    [failed] = rows(raw(sf).get(jobs_url(sf, "ingest", job["id"], "failedResults")).text)
    assert failed["sf__Error"] == (f"INVALID_FIELD:Foreign key external ID: P-404 not found for field {HUB_ID} "
                                   "in entity Account:--")


def test_deleted_records_leave_query_and_stay_visible_to_query_all(sf: Salesforce) -> None:
    [inserted] = sf.bulk2.Account.insert(records=[{"Name": f"Temp {n}"} for n in range(5)], wait=WAIT)
    ids = [row["sf__Id"] for row in rows(sf.bulk2.Account.get_successful_records(inserted["job_id"]))]
    [deleted] = sf.bulk2.Account.delete(records=[{"Id": record_id} for record_id in ids[:3]], wait=WAIT)
    assert (deleted["numberRecordsProcessed"], deleted["numberRecordsFailed"]) == (3, 0)

    [live_page] = query_csv(sf, "SELECT Id FROM Account WHERE Name LIKE 'Temp%'")
    assert {row["Id"] for row in rows(live_page)} == set(ids[3:])
    [all_page] = query_csv(sf, "SELECT Id, IsDeleted FROM Account WHERE Name LIKE 'Temp%'", all_rows=True)
    assert {row["Id"]: row["IsDeleted"] for row in rows(all_page)} == {
        **{record_id: "true" for record_id in ids[:3]}, **{record_id: "false" for record_id in ids[3:]}}


def test_hard_delete_removes_records_from_queries(sandbox: RunningSandbox, sf: Salesforce) -> None:
    doomed = sf.Account.create({"Name": "Doomed"})["id"]
    kept = sf.Account.create({"Name": "Kept"})["id"]
    [result] = sf.bulk2.Account.hard_delete(records=[{"Id": doomed}], wait=WAIT)
    assert (result["numberRecordsProcessed"], result["numberRecordsFailed"]) == (1, 0)
    [page] = query_csv(sf, "SELECT Id FROM Account")
    assert [row["Id"] for row in rows(page)] == [kept]


def test_query_csv_flattens_parents_and_formats_values(sandbox: RunningSandbox, sf: Salesforce) -> None:
    account = sf.Account.create({"Name": "Parent Co"})["id"]
    sf.Contact.create({"LastName": "Child", "AccountId": account, "HasOptedOutOfEmail": True})
    sf.Contact.create({"LastName": "Loner"})
    [page] = query_csv(sf, "SELECT LastName, account.name, HasOptedOutOfEmail, Email, CreatedDate FROM Contact "
                           "ORDER BY LastName")
    lines = page.splitlines()
    assert lines[0] == '"LastName","Account.Name","HasOptedOutOfEmail","Email","CreatedDate"'
    child, loner = rows(page)
    assert (child["Account.Name"], child["HasOptedOutOfEmail"], child["Email"]) == ("Parent Co", "true", "")
    assert (loner["Account.Name"], loner["HasOptedOutOfEmail"]) == ("", "false")
    stored = next(r for r in sandbox.org.store.records("Contact") if r["LastName"] == "Child")["CreatedDate"]
    assert child["CreatedDate"] == stored.replace("+0000", "Z")


def test_query_results_follow_the_jobs_delimiter_and_line_ending(sf: Salesforce) -> None:
    sf.Account.create({"Name": "Pipe, Inc"})
    created = raw(sf).post(jobs_url(sf, "query"), json={
        "operation": "query", "query": "SELECT Name, NumberOfEmployees FROM Account",
        "columnDelimiter": "PIPE", "lineEnding": "CRLF"})
    assert created.status_code == 200
    info = created.json()
    assert (info["state"], info["object"], info["columnDelimiter"], info["lineEnding"]) == (
        "UploadComplete", "Account", "PIPE", "CRLF")
    sf.bulk2.Account._client.wait_for_job(info["id"], True, WAIT)
    results = raw(sf).get(jobs_url(sf, "query", info["id"], "results"))
    assert results.text == '"Name"|"NumberOfEmployees"\r\n"Pipe, Inc"|""\r\n'
    assert (results.headers["Sforce-NumberOfRecords"], results.headers["Sforce-Locator"]) == ("1", "null")
    detail = raw(sf).get(jobs_url(sf, "query", info["id"])).json()
    assert (detail["jobType"], detail["numberRecordsProcessed"], detail["state"]) == ("V2Query", 1, "JobComplete")


def test_locators_page_through_results_and_can_be_reread(sf: Salesforce) -> None:
    sf.bulk2.Account.insert(records=[{"Name": f"Page {n}"} for n in range(5)], wait=WAIT)
    job = raw(sf).post(jobs_url(sf, "query"), json={"operation": "query",
                                                     "query": "SELECT Name FROM Account ORDER BY Name"}).json()
    sf.bulk2.Account._client.wait_for_job(job["id"], True, WAIT)
    first = raw(sf).get(jobs_url(sf, "query", job["id"], "results"), params={"maxRecords": 2})
    locator = first.headers["Sforce-Locator"]
    assert first.headers["Sforce-NumberOfRecords"] == "2" and locator != "null"
    second = raw(sf).get(jobs_url(sf, "query", job["id"], "results"), params={"maxRecords": 2, "locator": locator})
    again = raw(sf).get(jobs_url(sf, "query", job["id"], "results"), params={"maxRecords": 2, "locator": locator})
    assert second.text == again.text and [r["Name"] for r in rows(second.text)] == ["Page 2", "Page 3"]
    rest = raw(sf).get(jobs_url(sf, "query", job["id"], "results"),
                       params={"locator": second.headers["Sforce-Locator"]})
    assert [r["Name"] for r in rows(rest.text)] == ["Page 4"] and rest.headers["Sforce-Locator"] == "null"


def test_the_jobs_external_id_index_sees_writes_made_by_other_clients(sandbox: RunningSandbox) -> None:
    add_hub_id(sandbox)
    org = sandbox.org
    user_id = org.store.records("User")[0]["Id"]
    first = org.records.create("Account", {"Name": "First", HUB_ID: "K-1"}, user_id)
    index = FieldValueIndex(org.store, "Account", HUB_ID)
    assert index.matches("k-1") == [first] and index.matches("K-2") == []

    second = org.records.create("Account", {"Name": "Second", HUB_ID: "K-2"}, user_id)  # another client
    assert index.matches("K-2") == [second]
    org.records.delete("Account", first, user_id)
    assert index.matches("K-1") == []
    org.records.update("Account", second, {HUB_ID: "K-3"}, user_id)
    assert index.matches("K-2") == []

    third = org.records.create("Account", {"Name": "Third", HUB_ID: "K-4"}, user_id)  # this job's own insert
    index.note_created("K-4", third)
    assert index.matches("K-4") == [third]


# -- job lifecycle over raw HTTP -----------------------------------------------------------------------------
def test_created_job_info_and_listing(sf: Salesforce) -> None:
    job = create_ingest_job(sf, {"object": "account", "operation": "insert", "contentType": "CSV",
                                 "columnDelimiter": "TAB", "lineEnding": "CRLF"})
    assert job["id"].startswith("750") and len(job["id"]) == 18
    assert {key: job[key] for key in ("operation", "object", "state", "concurrencyMode", "contentType",
                                      "apiVersion", "lineEnding", "columnDelimiter")} == {
        "operation": "insert", "object": "Account", "state": "Open", "concurrencyMode": "Parallel",
        "contentType": "CSV", "apiVersion": 62.0, "lineEnding": "CRLF", "columnDelimiter": "TAB"}
    assert job["contentUrl"] == f"services/data/v62.0/jobs/ingest/{job['id']}/batches"
    assert job["createdById"].startswith("005") and job["createdDate"].endswith("+0000")

    detail = raw(sf).get(jobs_url(sf, "ingest", job["id"])).json()
    assert (detail["jobType"], detail["numberRecordsProcessed"], detail["numberRecordsFailed"]) == (
        "V2Ingest", 0, 0)
    listing = raw(sf).get(jobs_url(sf, "ingest")).json()
    assert listing["done"] is True and listing["nextRecordsUrl"] is None
    assert [entry["id"] for entry in listing["records"]] == [job["id"]]
    assert listing["records"][0]["jobType"] == "V2Ingest"
    assert raw(sf).get(jobs_url(sf, "query")).json()["records"] == []


def test_a_multipart_create_job_carries_its_data_and_starts_at_once(sandbox: RunningSandbox,
                                                                    sf: Salesforce) -> None:
    job_part = ("job", '{"object": "Contact", "contentType": "CSV", "operation": "insert"}', "application/json")
    content = ("content", "FirstName,LastName\nAstro,Nomical\nHootie,McOwl\n", "text/csv")
    response = raw(sf).post(jobs_url(sf, "ingest"), files=[
        (job_part[0], (None, job_part[1], job_part[2])), (content[0], ("content", content[1], content[2]))])
    assert response.status_code == 200, response.text
    assert response.json()["state"] == "UploadComplete"
    bulk_service(sandbox.org).wait(response.json()["id"], timeout=60)
    info = raw(sf).get(jobs_url(sf, "ingest", response.json()["id"])).json()
    assert (info["state"], info["numberRecordsProcessed"]) == ("JobComplete", 2)
    assert sorted(r["LastName"] for r in sandbox.org.store.records("Contact")) == ["McOwl", "Nomical"]


def test_job_listings_page_with_a_query_locator(sf: Salesforce, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("salesbridge.sandbox.bulk_service.LIST_PAGE_SIZE", 2)
    created = [create_ingest_job(sf, {"object": "Account", "operation": "insert"})["id"] for _ in range(3)]
    first = raw(sf).get(jobs_url(sf, "ingest")).json()
    assert first["done"] is False and [job["id"] for job in first["records"]] == created[:2]
    assert first["nextRecordsUrl"].startswith("/services/data/v62.0/jobs/ingest?queryLocator=")
    second = raw(sf).get(sf.base_url.split("/services/")[0] + first["nextRecordsUrl"]).json()
    assert (second["done"], second["nextRecordsUrl"]) == (True, None)
    assert [job["id"] for job in second["records"]] == created[2:]
    bad = raw(sf).get(jobs_url(sf, "ingest"), params={"queryLocator": "%%%"})
    assert error_of(bad)[:2] == (400, "INVALID_QUERY_LOCATOR")


def test_tab_delimited_crlf_upload_is_read_with_the_jobs_dialect(sandbox: RunningSandbox, sf: Salesforce) -> None:
    body = {"object": "Account", "operation": "insert", "columnDelimiter": "TAB", "lineEnding": "CRLF"}
    job = run_ingest_job(sandbox, sf, body, 'Name\tDescription\r\n"Tab, Co"\t"two\r\nlines"\r\n')
    assert (job["state"], job["numberRecordsProcessed"], job["numberRecordsFailed"]) == ("JobComplete", 1, 0)
    [record] = sandbox.org.store.records("Account")
    assert (record["Name"], record["Description"]) == ("Tab, Co", "two\r\nlines")


def test_an_aborted_job_is_not_processed_and_lists_its_rows_as_unprocessed(sandbox: RunningSandbox,
                                                                            sf: Salesforce) -> None:
    job = create_ingest_job(sf, {"object": "Account", "operation": "insert"})
    session = raw(sf)
    data = "Name,Phone\nFirst,1\nSecond,2\n"
    session.put(jobs_url(sf, "ingest", job["id"], "batches"), data=data, headers={"Content-Type": "text/csv"})
    aborted = session.patch(jobs_url(sf, "ingest", job["id"]), json={"state": "Aborted"})
    assert aborted.status_code == 200 and aborted.json()["state"] == "Aborted"
    for spelling in ("unprocessedrecords", "unprocessedRecords"):
        response = session.get(jobs_url(sf, "ingest", job["id"], spelling))
        assert response.status_code == 200 and response.text == data
    assert rows(sf.bulk2.Account.get_unprocessed_records(job["id"])) == [
        {"Name": "First", "Phone": "1"}, {"Name": "Second", "Phone": "2"}]
    assert sandbox.org.store.records("Account") == []
    assert session.get(jobs_url(sf, "ingest", job["id"])).json()["state"] == "Aborted"


def test_a_job_stopped_half_way_lists_the_rest_as_unprocessed(sandbox: RunningSandbox) -> None:
    org = sandbox.org
    account = org.schema.get("Account")
    table = bulk_csv.read_table("Name\nA\nB\nC\nD\n", "COMMA", "LF")
    run = IngestRun(org, account, "insert", None, plan_columns(org, account, table.header, "insert"),
                    org.store.records("User")[0]["Id"])
    processed: list[bool] = []
    outcome = run.run(table, should_stop=lambda: len(processed) == 2, on_row=processed.append)
    assert [row[2] for row in outcome.successful] == ["A", "B"]
    assert outcome.unprocessed == [["C"], ["D"]] and outcome.failed == []
    assert bulk_csv.unprocessed_file(table.header, outcome.unprocessed) == 'Name\n"C"\n"D"\n'


@pytest.mark.parametrize(("body", "data", "message"), [
    ({"object": "Account", "operation": "insert"}, "Name,Nope__c\nA,1\n",
     "InvalidBatch : Field name not found : Nope__c"),
    ({"object": "Account", "operation": "delete"}, "Id,Name\n001,A\n",
     "InvalidBatch : The 'delete' batch must contain only ids"),
    ({"object": "Account", "operation": "insert"}, "Name\r\nA\r\n",
     "ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is LF"),
    ({"object": "Contact", "operation": "insert"}, "LastName,Account.Name\nA,Acme\n",
     "InvalidBatch : Field name not found : Account.Name"),
    ({"object": "Contact", "operation": "insert"}, "LastName,Boss.Id\nA,x\n",
     "InvalidBatch : Field name not found : Boss.Id"),
    ({"object": "Account", "operation": "insert"}, 'Name\n"unclosed\n',
     "ClientInputError : unexpected end of data"),
])
def test_bad_headers_and_line_endings_fail_the_whole_job(sandbox: RunningSandbox, sf: Salesforce, body: dict,
                                                         data: str, message: str) -> None:
    job = run_ingest_job(sandbox, sf, body, data)
    assert (job["state"], job["errorMessage"], job["numberRecordsProcessed"]) == ("Failed", message, 0)
    assert raw(sf).get(jobs_url(sf, "ingest", job["id"], "unprocessedrecords")).text == data
    assert sandbox.org.store.records("Account") == []


def test_simple_salesforce_raises_on_a_failed_job(sf: Salesforce) -> None:
    with pytest.raises(SalesforceOperationError, match="Field name not found : Bogus"):
        sf.bulk2.Account.insert(records=[{"Name": "A", "Bogus": "x"}], wait=WAIT)


def test_state_changes_that_salesforce_refuses(sandbox: RunningSandbox, sf: Salesforce) -> None:
    session = raw(sf)
    done = run_ingest_job(sandbox, sf, {"object": "Account", "operation": "insert"}, "Name\nA\n")
    url = jobs_url(sf, "ingest", done["id"])
    assert error_of(session.patch(url, json={"state": "UploadComplete"})) == (
        400, "INVALIDJOBSTATE", "Closing already Completed Job not allowed")
    assert error_of(session.patch(url, json={"state": "Aborted"})) == (
        400, "INVALIDJOBSTATE", "Aborting already Completed Job not allowed")
    assert error_of(session.put(url + "/batches", data="Name\nB\n")) == (
        400, "INVALIDJOBSTATE", "Job is not open for uploading data. Current state: JobComplete")
    assert error_of(session.patch(url, json={"state": "Closed"}))[:2] == (400, "JSON_PARSER_ERROR")

    twice = create_ingest_job(sf, {"object": "Account", "operation": "insert"})
    for _ in range(2):
        assert session.put(jobs_url(sf, "ingest", twice["id"], "batches"), data="Name\nB\n").status_code == 201
    assert error_of(session.patch(jobs_url(sf, "ingest", twice["id"]), json={"state": "UploadComplete"})) == (
        400, "INVALIDJOB", f"Found multipe contents for job: <{twice['id'][:15]}>, please 'Close' / 'Abort' / "
        "'Delete' the current Job then create a new Job and make sure you only do 'PUT' once on a given Job.")


def test_job_creation_errors(sf: Salesforce) -> None:
    session = raw(sf)
    url = jobs_url(sf, "ingest")
    assert error_of(session.post(url, json={"object": "Nope__c", "operation": "insert"})) == (
        400, "INVALIDJOB", "Unable to find object: Nope__c")
    assert error_of(session.post(url, json={"object": "Account", "operation": "merge"}))[:2] == (
        400, "JSON_PARSER_ERROR")
    assert error_of(session.post(url, json={"object": "Account", "operation": "upsert"})) == (
        400, "INVALIDJOB", "External ID was blank for Account. An External ID must be specified for upsert.")
    assert error_of(session.post(url, json={"object": "Account", "operation": "upsert",
                                            "externalIdFieldName": "Phone"})) == (
        400, "INVALIDJOB", "Field name provided, Phone does not match an External ID, Salesforce Id, or indexed "
        "field for Account")
    assert error_of(session.post(url, json={"object": "Account", "operation": "insert",
                                            "columnDelimiter": "COLON"}))[:2] == (400, "JSON_PARSER_ERROR")
    assert error_of(session.post(url, data=b"{not json"))[:2] == (400, "JSON_PARSER_ERROR")


def test_unknown_jobs_versions_and_sessions(sf: Salesforce) -> None:
    session = raw(sf)
    not_found = (404, "NOT_FOUND", "The requested resource does not exist")
    assert error_of(session.get(jobs_url(sf, "ingest", "7508d0000000999AAA"))) == not_found
    assert error_of(session.get(jobs_url(sf, "ingest", "not-an-id", "successfulResults"))) == not_found
    assert error_of(session.get(jobs_url(sf, "query", "7508d0000000999AAA", "results"))) == not_found
    ingest = create_ingest_job(sf, {"object": "Account", "operation": "insert"})
    assert error_of(session.get(jobs_url(sf, "query", ingest["id"]))) == not_found
    old = sf.bulk2_url.replace("v62.0", "v40.0") + "ingest"
    assert error_of(session.get(old)) == not_found
    anonymous = requests.get(jobs_url(sf, "ingest"), verify=sf.session.verify)
    assert anonymous.status_code == 401 and anonymous.json()[0]["errorCode"] == "INVALID_SESSION_ID"


def test_deleting_jobs(sandbox: RunningSandbox, sf: Salesforce) -> None:
    session = raw(sf)
    open_job = create_ingest_job(sf, {"object": "Account", "operation": "insert"})
    assert error_of(session.delete(jobs_url(sf, "ingest", open_job["id"])))[:2] == (400, "INVALIDJOBSTATE")
    done = run_ingest_job(sandbox, sf, {"object": "Account", "operation": "insert"}, "Name\nA\n")
    response = session.delete(jobs_url(sf, "ingest", done["id"]))
    assert response.status_code == 204 and response.content == b""
    assert session.get(jobs_url(sf, "ingest", done["id"])).status_code == 404
    assert session.get(jobs_url(sf, "ingest", done["id"], "successfulResults")).status_code == 404
    assert [job["id"] for job in session.get(jobs_url(sf, "ingest")).json()["records"]] == [open_job["id"]]


# -- query job errors --------------------------------------------------------------------------------------
def test_query_errors_answer_when_the_job_is_created(sf: Salesforce) -> None:
    session = raw(sf)
    url = jobs_url(sf, "query")
    status, code, message = error_of(session.post(url, json={"operation": "query",
                                                             "query": "SELECT Nope FROM Account"}))
    assert (status, code) == (400, "INVALID_FIELD") and "No such column 'Nope' on entity 'Account'" in message
    assert error_of(session.post(url, json={"operation": "query",
                                            "query": "SELECT Name, (SELECT LastName FROM Contacts) FROM Account"})) == (
        400, "FEATURENOTENABLED", "Aggregate Relationships not supported in Bulk V2 Query with CSV content type")
    assert error_of(session.post(url, json={"operation": "query", "query": "SELECT COUNT() FROM Account"}))[:2] == (
        400, "FEATURENOTENABLED")
    assert error_of(session.post(url, json={"operation": "insert", "query": "SELECT Id FROM Account"}))[:2] == (
        400, "JSON_PARSER_ERROR")
    assert raw(sf).get(url).json()["records"] == []


def test_results_of_an_unfinished_query_job_answer_412(sandbox: RunningSandbox, sf: Salesforce,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(BulkService, "_start", lambda self, job: None)
    session = raw(sf)
    job = session.post(jobs_url(sf, "query"), json={"operation": "query", "query": "SELECT Id FROM Account"}).json()
    assert error_of(session.get(jobs_url(sf, "query", job["id"], "results"))) == (
        412, "JOB_NOT_COMPLETE", "can only download query results of successfully completed bulk job with status: "
        "JOB_COMPLETE. Current status: UPLOAD_COMPLETE")
    aborted = session.patch(jobs_url(sf, "query", job["id"]), json={"state": "Aborted"})
    assert aborted.json()["state"] == "Aborted"
    assert error_of(session.get(jobs_url(sf, "query", job["id"], "results")))[2].endswith("Current status: ABORTED")
    assert session.delete(jobs_url(sf, "query", job["id"])).status_code == 204


# -- persistence --------------------------------------------------------------------------------------------
def test_jobs_and_results_survive_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "org.db"
    first = start_in_thread(data)
    try:
        sf = Salesforce(instance_url=first.login()[0], session_id=first.login()[1], session=first.http(),
                        version="62.0")
        [result] = sf.bulk2.Account.insert(records=[{"Name": "Kept"}], wait=WAIT)
        before = sf.bulk2.Account.get_successful_records(result["job_id"])
    finally:
        first.stop()
    second = start_in_thread(data)
    try:
        instance_url, token = second.login()
        sf = Salesforce(instance_url=instance_url, session_id=token, session=second.http(), version="62.0")
        assert sf.bulk2.Account.get_successful_records(result["job_id"]) == before
        assert sf.bulk2.Account._client.get_job(result["job_id"], False)["state"] == "JobComplete"
        [page] = query_csv(sf, "SELECT Name FROM Account")
        assert rows(page) == [{"Name": "Kept"}]
    finally:
        second.stop()


def test_a_closed_job_interrupted_by_a_restart_runs_when_the_sandbox_is_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = str(tmp_path / "org.db")
    org = build_org(data)
    user_id = org.store.records("User")[0]["Id"]
    service = BulkService(org)
    with monkeypatch.context() as patched:
        patched.setattr(BulkService, "_start", lambda self, job: None)
        job = service.create_ingest_job({"object": "Account", "operation": "insert"}, user_id, 62.0)
        service.upload(job.id, b"Name\nResumed\n")
        assert service.change_state("ingest", job.id, {"state": "UploadComplete"})["state"] == "UploadComplete"
    org.store.close()

    reopened = build_org(data)
    restarted = bulk_service(reopened)
    restarted.wait(job.id, timeout=60)
    assert restarted.job("ingest", job.id).state == "JobComplete"
    assert [r["Name"] for r in reopened.store.records("Account")] == ["Resumed"]
    reopened.store.close()


# -- CSV conversion ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("kind", "text", "value"), [
    ("boolean", "TRUE", True), ("boolean", "0", False), ("int", "-12", -12), ("double", "1.5e3", 1500.0),
    ("currency", "10", 10.0), ("date", "2024-02-29", "2024-02-29"),
    ("datetime", "2024-02-29T10:00:00+02:00", "2024-02-29T08:00:00.000+0000"),
    ("datetime", "2024-02-29T10:00:00.5Z", "2024-02-29T10:00:00.500+0000"), ("time", "10:15", "10:15:00.000Z"),
    ("string", "as is ", "as is "), ("int", "#N/A", None),
])
def test_cells_become_api_values_by_field_type(kind: str, text: str, value: object) -> None:
    assert bulk_csv.cell_to_value(FieldDef("F__c", kind), text, 1) == value


@pytest.mark.parametrize(("kind", "text", "xsd"), [
    ("boolean", "yes", "xsd:boolean"), ("int", "1.5", "xsd:int"), ("double", "nan", "xsd:double"),
    ("date", "2024-02-30", "xsd:date"), ("datetime", "2024-02-29", "xsd:dateTime"), ("time", "25:00", "xsd:time"),
])
def test_cells_that_are_not_of_the_fields_type_are_refused(kind: str, text: str, xsd: str) -> None:
    with pytest.raises(SandboxApiError) as raised:
        bulk_csv.cell_to_value(FieldDef("F__c", kind), text, 4)
    assert raised.value.error_code == "INVALID_FIELD"
    assert raised.value.message == (f"Failed to deserialize field at col 4. Due to, '{text}' is not a valid value "
                                    f"for the type {xsd}")


def test_error_cells_list_fields_space_separated() -> None:
    error = SandboxApiError("REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName, Company]",
                            fields=["LastName", "Company"])
    assert bulk_csv.format_error(error) == ("REQUIRED_FIELD_MISSING:Required fields are missing: "
                                            "[LastName, Company]:LastName Company --")
