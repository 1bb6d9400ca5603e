"""Salesforce Files in the sandbox, through the HTTPS server with unmodified simple-salesforce.

ContentVersion uploads make ContentDocuments, ContentDocumentLinks share them with records, VersionData is a
URL in records and the bytes at that URL, new versions move the document's latest version, and deletes and
size limits behave as Salesforce documents them.
"""

from __future__ import annotations

import base64

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceGeneralError, SalesforceMalformedRequest

from salesbridge.sandbox import ids
from salesbridge.sandbox.server import RunningSandbox

ALL_BYTES = bytes(range(256)) * 4


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def upload(sf: Salesforce, data: bytes, path: str = "report.pdf", **extra: str) -> str:
    result = sf.ContentVersion.create({"Title": path.rsplit(".", 1)[0], "PathOnClient": path,
                                       "VersionData": b64(data), **extra})
    assert result["success"] is True
    return result["id"]


def download(sf: Salesforce, url: str) -> tuple[int, str, bytes]:
    response = sf.session.get(f"https://{sf.sf_instance}{url}", headers=sf.headers)
    return response.status_code, response.headers.get("content-type", ""), response.content


def error_code(error: SalesforceMalformedRequest) -> str:
    return error.content[0]["errorCode"]


def test_upload_creates_document_and_serves_bytes(sf: Salesforce) -> None:
    version_id = upload(sf, ALL_BYTES, "Quarterly Report.PDF")

    version = sf.ContentVersion.get(version_id)
    assert version["ContentSize"] == len(ALL_BYTES)
    assert (version["FileType"], version["FileExtension"]) == ("PDF", "pdf")
    assert (version["VersionNumber"], version["IsLatest"]) == ("1", True)
    assert version["VersionData"] == f"/services/data/v62.0/sobjects/ContentVersion/{version_id}/VersionData"

    document = sf.ContentDocument.get(version["ContentDocumentId"])
    assert document["LatestPublishedVersionId"] == version_id
    assert document["Title"] == "Quarterly Report"
    assert (document["ContentSize"], document["FileType"]) == (len(ALL_BYTES), "PDF")
    assert document["OwnerId"] == version["OwnerId"]

    status, content_type, body = download(sf, version["VersionData"])
    assert status == 200
    assert content_type == "application/octet-stream"
    assert body == ALL_BYTES


def test_query_shows_the_url_never_the_bytes(sf: Salesforce) -> None:
    version_id = upload(sf, b"secret bytes", "notes.txt")
    rows = sf.query(f"SELECT Id, VersionData, FileType FROM ContentVersion WHERE Id = '{version_id}'")["records"]
    assert rows[0]["VersionData"].endswith(f"/sobjects/ContentVersion/{version_id}/VersionData")
    assert rows[0]["FileType"] == "TEXT"


def test_first_publish_location_shares_the_file_with_the_record(sf: Salesforce) -> None:
    account_id = sf.Account.create({"Name": "Acme"})["id"]
    version_id = upload(sf, b"contract", "contract.docx", FirstPublishLocationId=account_id)
    document_id = sf.ContentVersion.get(version_id)["ContentDocumentId"]

    links = sf.query("SELECT ContentDocumentId, ShareType, Visibility FROM ContentDocumentLink "
                     f"WHERE LinkedEntityId = '{account_id}'")["records"]
    assert [(link["ContentDocumentId"], link["ShareType"], link["Visibility"]) for link in links] == [
        (document_id, "V", "AllUsers")]


def test_link_a_document_to_several_records(sf: Salesforce) -> None:
    first = sf.Account.create({"Name": "First"})["id"]
    second = sf.Account.create({"Name": "Second"})["id"]
    document_id = sf.ContentVersion.get(upload(sf, b"shared"))["ContentDocumentId"]

    for account_id in (first, second):
        result = sf.ContentDocumentLink.create({"ContentDocumentId": document_id, "LinkedEntityId": account_id})
        assert result["success"] is True
        link = sf.ContentDocumentLink.get(result["id"])
        assert (link["ShareType"], link["Visibility"]) == ("V", "AllUsers")

    for account_id in (first, second):
        rows = sf.query(f"SELECT ContentDocumentId FROM ContentDocumentLink WHERE LinkedEntityId = '{account_id}'")
        assert [row["ContentDocumentId"] for row in rows["records"]] == [document_id]
    linked = sf.query(f"SELECT LinkedEntityId FROM ContentDocumentLink WHERE ContentDocumentId = '{document_id}'")
    assert {first, second} <= {row["LinkedEntityId"] for row in linked["records"]}


def test_link_refuses_unknown_ids_and_duplicates(sf: Salesforce) -> None:
    account_id = sf.Account.create({"Name": "Acme"})["id"]
    document_id = sf.ContentVersion.get(upload(sf, b"x"))["ContentDocumentId"]
    sf.ContentDocumentLink.create({"ContentDocumentId": document_id, "LinkedEntityId": account_id})

    with pytest.raises(SalesforceMalformedRequest) as duplicate:
        sf.ContentDocumentLink.create({"ContentDocumentId": document_id, "LinkedEntityId": account_id})
    assert error_code(duplicate.value) == "DUPLICATE_VALUE"

    deleted_account = sf.Account.create({"Name": "Gone"})["id"]
    sf.Account.delete(deleted_account)
    with pytest.raises(SalesforceMalformedRequest) as gone:
        sf.ContentDocumentLink.create({"ContentDocumentId": document_id, "LinkedEntityId": deleted_account})
    assert error_code(gone.value) == "ENTITY_IS_DELETED"

    unknown_document = ids.make_id("069", 9999)
    with pytest.raises(SalesforceMalformedRequest) as unknown:
        sf.ContentDocumentLink.create({"ContentDocumentId": unknown_document[:15], "LinkedEntityId": account_id})
    assert error_code(unknown.value) == "INVALID_CROSS_REFERENCE_KEY"


def test_new_version_moves_the_latest(sf: Salesforce) -> None:
    first_id = upload(sf, b"draft", "plan.txt")
    document_id = sf.ContentVersion.get(first_id)["ContentDocumentId"]

    second = sf.ContentVersion.create({"ContentDocumentId": document_id, "PathOnClient": "plan.csv",
                                       "Title": "plan v2", "ReasonForChange": "final numbers",
                                       "VersionData": b64(b"final,1\n")})
    second_version = sf.ContentVersion.get(second["id"])
    assert (second_version["VersionNumber"], second_version["IsLatest"]) == ("2", True)
    assert second_version["ContentDocumentId"] == document_id
    assert sf.ContentVersion.get(first_id)["IsLatest"] is False

    document = sf.ContentDocument.get(document_id)
    assert document["LatestPublishedVersionId"] == second["id"]
    assert (document["Title"], document["FileType"], document["ContentSize"]) == ("plan v2", "CSV", 8)

    assert download(sf, sf.ContentVersion.get(first_id)["VersionData"])[2] == b"draft"
    assert download(sf, second_version["VersionData"])[2] == b"final,1\n"
    versions = sf.query(f"SELECT VersionNumber FROM ContentVersion WHERE ContentDocumentId = '{document_id}' "
                        "ORDER BY VersionNumber")["records"]
    assert [row["VersionNumber"] for row in versions] == ["1", "2"]


def test_too_large_a_file_is_refused_and_leaves_nothing(sandbox: RunningSandbox, sf: Salesforce) -> None:
    sandbox.org.settings.max_file_bytes = 64
    upload(sf, b"x" * 64, "fits.bin")

    with pytest.raises(SalesforceMalformedRequest) as refused:
        upload(sf, b"x" * 65, "too-big.bin")
    assert error_code(refused.value) == "JSON_PARSER_ERROR"
    assert "Maximum size of request reached" in refused.value.content[0]["message"]
    assert sf.query("SELECT COUNT() FROM ContentDocument")["totalSize"] == 1
    assert sf.query("SELECT COUNT() FROM ContentVersion")["totalSize"] == 1


def test_default_limit_is_salesforce_non_multipart_limit(sandbox: RunningSandbox) -> None:
    """37.5 MB of file: the 50 MB (52,428,800 bytes) request Salesforce accepts, once base64-encoded."""
    assert sandbox.org.settings.max_file_bytes == 39_321_600
    assert (39_321_600 + 2) // 3 * 4 == 52_428_800


def test_invalid_base64_is_a_parser_error(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.ContentVersion.create({"Title": "bad", "PathOnClient": "bad.txt", "VersionData": "not*base64!"})
    assert error_code(refused.value) == "JSON_PARSER_ERROR"
    assert sf.query("SELECT COUNT() FROM ContentDocument")["totalSize"] == 0


def test_version_without_path_on_client_is_refused(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.ContentVersion.create({"Title": "no path", "VersionData": b64(b"abc")})
    assert error_code(refused.value) == "REQUIRED_FIELD_MISSING"


def test_deleting_the_document_deletes_versions_and_links(sf: Salesforce) -> None:
    account_id = sf.Account.create({"Name": "Acme"})["id"]
    first_id = upload(sf, b"one", FirstPublishLocationId=account_id)
    document_id = sf.ContentVersion.get(first_id)["ContentDocumentId"]
    sf.ContentVersion.create({"ContentDocumentId": document_id, "PathOnClient": "report.pdf",
                              "VersionData": b64(b"two")})

    sf.ContentDocument.delete(document_id)

    assert sf.query(f"SELECT Id FROM ContentVersion WHERE ContentDocumentId = '{document_id}'")["totalSize"] == 0
    links = sf.query(f"SELECT Id FROM ContentDocumentLink WHERE LinkedEntityId = '{account_id}'")
    assert links["totalSize"] == 0
    deleted = sf.query_all(f"SELECT Id, IsDeleted FROM ContentVersion WHERE ContentDocumentId = '{document_id}'",
                           include_deleted=True)["records"]
    assert len(deleted) == 2 and all(row["IsDeleted"] for row in deleted)
    status, _, _ = download(sf, f"/services/data/v62.0/sobjects/ContentVersion/{first_id}/VersionData")
    assert status == 404


def test_a_version_cannot_be_deleted_only_its_document(sf: Salesforce) -> None:
    """ContentVersion's supported calls have no delete(): REST refuses the method, describe says so."""
    version_id = upload(sf, b"keep me")
    document_id = sf.ContentVersion.get(version_id)["ContentDocumentId"]
    assert sf.ContentVersion.describe()["deletable"] is False
    assert sf.ContentDocument.describe()["deletable"] is True

    with pytest.raises(SalesforceGeneralError) as refused:
        sf.ContentVersion.delete(version_id)

    assert refused.value.status == 405
    assert refused.value.content == [{"message": "HTTP Method 'DELETE' not allowed. Allowed are HEAD,GET,PATCH",
                                      "errorCode": "METHOD_NOT_ALLOWED", "fields": []}]
    assert sf.ContentVersion.get(version_id)["IsDeleted"] is False
    results = sf.restful("composite/sobjects", method="DELETE", params={"ids": version_id})
    assert results[0]["success"] is False
    assert results[0]["errors"][0]["statusCode"] == "INSUFFICIENT_ACCESS_OR_READONLY"
    sf.ContentDocument.delete(document_id)
    assert sf.query(f"SELECT Id FROM ContentVersion WHERE Id = '{version_id}'")["totalSize"] == 0


def test_collections_upload_makes_one_document_per_version(sf: Salesforce) -> None:
    body = {"allOrNone": True, "records": [
        {"attributes": {"type": "ContentVersion"}, "Title": f"file {n}", "PathOnClient": f"file{n}.txt",
         "VersionData": b64(f"content {n}".encode())} for n in range(3)]}
    results = sf.restful("composite/sobjects", method="POST", json=body)
    assert [result["success"] for result in results] == [True, True, True]
    documents = {sf.ContentVersion.get(result["id"])["ContentDocumentId"] for result in results}
    assert len(documents) == 3
    assert download(sf, sf.ContentVersion.get(results[2]["id"])["VersionData"])[2] == b"content 2"


def test_download_needs_a_session_and_an_existing_version(sandbox: RunningSandbox, sf: Salesforce) -> None:
    version_id = upload(sf, b"private")
    url = f"{sandbox.url}/services/data/v62.0/sobjects/ContentVersion/{version_id}/VersionData"
    anonymous = sandbox.http().get(url)
    assert anonymous.status_code == 401
    assert anonymous.json()[0]["errorCode"] == "INVALID_SESSION_ID"

    missing = download(sf, f"/services/data/v62.0/sobjects/ContentVersion/{ids.make_id('068', 999)}/VersionData")
    assert missing[0] == 404


def test_link_queries_must_be_narrowed_to_ids(sf: Salesforce) -> None:
    account_id = sf.Account.create({"Name": "Acme"})["id"]
    upload(sf, b"x", FirstPublishLocationId=account_id)

    for unfiltered in ("SELECT Id FROM ContentDocumentLink",
                       "SELECT Id FROM ContentDocumentLink WHERE ShareType = 'V'",
                       f"SELECT Id FROM ContentDocumentLink WHERE LinkedEntityId != '{account_id}'"):
        with pytest.raises(SalesforceMalformedRequest) as refused:
            sf.query(unfiltered)
        assert error_code(refused.value) == "MALFORMED_QUERY"
        assert refused.value.content[0]["message"].startswith(
            "Implementation restriction: ContentDocumentLink requires a filter by a single Id")

    narrowed = sf.query(f"SELECT Id FROM ContentDocumentLink WHERE ShareType = 'V' "
                        f"AND LinkedEntityId IN ('{account_id}')")
    assert narrowed["totalSize"] == 1
    children = sf.query(f"SELECT (SELECT ContentDocumentId FROM ContentDocumentLinks) FROM Account "
                        f"WHERE Id = '{account_id}'")
    assert children["records"][0]["ContentDocumentLinks"]["totalSize"] == 1


def test_bulk_insert_of_versions_gets_the_same_rules(sf: Salesforce) -> None:
    account_id = sf.Account.create({"Name": "Acme"})["id"]
    [result] = sf.bulk2.ContentVersion.insert(records=[
        {"Title": "bulk one", "PathOnClient": "one.txt", "VersionData": b64(b"first file"),
         "FirstPublishLocationId": account_id},
        {"Title": "bulk two", "PathOnClient": "two.txt", "VersionData": "%%%"},
    ], wait=0.1)

    assert (result["numberRecordsProcessed"], result["numberRecordsFailed"]) == (2, 1)
    version = sf.query("SELECT Id, ContentDocumentId, VersionData FROM ContentVersion")["records"]
    assert len(version) == 1
    assert download(sf, version[0]["VersionData"])[2] == b"first file"
    links = sf.query(f"SELECT ContentDocumentId FROM ContentDocumentLink WHERE LinkedEntityId = '{account_id}'")
    assert [row["ContentDocumentId"] for row in links["records"]] == [version[0]["ContentDocumentId"]]
