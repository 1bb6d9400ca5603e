"""The client's pure parts, without a server: wire values, header and error parsing, Bulk result mapping,
backoff, error classification, SOQL literals."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal

import pytest
import requests
from simple_salesforce import exceptions as sfx

from salesbridge.salesforce import (
    ApiLimitExceeded,
    RetryPolicy,
    SalesforceError,
    SessionExpiredError,
    TransientError,
    WriteResult,
    soql_quote,
)
from salesbridge.salesforce._bulk import Table, build_table, correlate, parse_bulk_error, render_csv, split_by_size
from salesbridge.salesforce._translate import record_error, translate
from salesbridge.salesforce._usage import parse_limit_info
from salesbridge.salesforce._wire import csv_cell, json_record, json_value


class Color(enum.Enum):
    RED = "Red"


# -- wire values ------------------------------------------------------------------------------------------------
def test_json_values() -> None:
    paris = timezone(timedelta(hours=2))
    assert json_value(datetime(2026, 5, 1, 12, 0, 0, 123456, tzinfo=paris)) == "2026-05-01T10:00:00.123+0000"
    assert json_value(datetime(2026, 5, 1, 12, 0)) == "2026-05-01T12:00:00.000+0000"  # naive is UTC
    assert json_value(date(2026, 5, 1)) == "2026-05-01"
    assert json_value(time(9, 30, 5, 250000)) == "09:30:05.250Z"
    assert json_value(Decimal("12.00")) == 12 and isinstance(json_value(Decimal("12.00")), int)
    assert json_value(Decimal("12.5")) == 12.5
    assert json_value(b"\x00\x01") == "AAE="
    assert json_value(Color.RED) == "Red"
    assert json_value(["A", "B"]) == "A;B"
    assert [json_value(v) for v in (None, True, 3, 2.5, "x")] == [None, True, 3, 2.5, "x"]
    for bad in (float("nan"), Decimal("Infinity"), object()):
        with pytest.raises(TypeError):
            json_value(bad, "Amount")


def test_json_record_replaces_attributes() -> None:
    body = json_record({"attributes": {"type": "Lead"}, "LastName": "X", "When": date(2026, 1, 1)}, "Contact")
    assert body == {"attributes": {"type": "Contact"}, "LastName": "X", "When": "2026-01-01"}


def test_csv_cells() -> None:
    assert [csv_cell(v) for v in (None, True, False, 7, "text", "")] == ["#N/A", "true", "false", "7", "text", ""]
    assert csv_cell(Decimal("1E+3")) == "1000"
    assert csv_cell(1e-7) == "0.0000001"  # never exponent notation
    assert csv_cell(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05.000Z"


# -- headers and errors ------------------------------------------------------------------------------------------
def test_limit_info() -> None:
    assert parse_limit_info("api-usage=18/5000") == (18, 5000)
    assert parse_limit_info("api-usage=25/5000; per-app-api-usage=17/250(appName=sample)") == (25, 5000)
    assert parse_limit_info("per-app-api-usage=17/250(appName=x)") is None
    assert parse_limit_info("") is None


def test_bulk_error_cells() -> None:
    error = parse_bulk_error("REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --")
    assert (error.error_code, error.message, error.fields) == (
        "REQUIRED_FIELD_MISSING", "Required fields are missing: [LastName]", ["LastName"])
    error = parse_bulk_error("INVALID_FIELD:Failed to deserialize field at col 2. Due to, 'x' is not valid:--")
    assert (error.error_code, error.message, error.fields) == (
        "INVALID_FIELD", "Failed to deserialize field at col 2. Due to, 'x' is not valid", [])
    assert parse_bulk_error("FIELD_INTEGRITY_EXCEPTION:bad:A B --").fields == ["A", "B"]
    assert isinstance(parse_bulk_error("UNABLE_TO_LOCK_ROW:unable to obtain exclusive access:--"), TransientError)
    assert parse_bulk_error("something odd happened").error_code == "BULK_ERROR"


def test_translation_of_simple_salesforce_errors() -> None:
    def error(cls: type, status: int, content: object) -> sfx.SalesforceError:
        return cls("https://x/services/data", status, "query", content)

    expired = translate(error(sfx.SalesforceExpiredSession, 401,
                              [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]))
    assert isinstance(expired, SessionExpiredError) and expired.status == 401
    limit = translate(error(sfx.SalesforceRefusedRequest, 403, [{"message": "TotalRequests Limit exceeded.",
                                                                 "errorCode": "REQUEST_LIMIT_EXCEEDED"}]))
    assert isinstance(limit, ApiLimitExceeded)
    unavailable = translate(error(sfx.SalesforceGeneralError, 503, [{"message": "down",
                                                                     "errorCode": "SERVER_UNAVAILABLE"}]))
    assert isinstance(unavailable, TransientError) and unavailable.may_have_succeeded
    html = translate(error(sfx.SalesforceGeneralError, 502, "<html>bad gateway</html>"))
    assert isinstance(html, TransientError) and html.error_code == "HTTP_502"
    locked = translate(error(sfx.SalesforceMalformedRequest, 400, [{"message": "lock",
                                                                    "errorCode": "UNABLE_TO_LOCK_ROW"}]))
    assert isinstance(locked, TransientError) and not locked.may_have_succeeded
    bad = translate(error(sfx.SalesforceMalformedRequest, 400, [{"message": "No such column", "fields": ["X"],
                                                                 "errorCode": "INVALID_FIELD"}]))
    assert type(bad) is SalesforceError and (bad.error_code, bad.fields, bad.status) == ("INVALID_FIELD", ["X"], 400)
    several = translate(error(sfx.SalesforceMoreThanOneRecord, 300, ["/services/data/v62.0/sobjects/Account/1"]))
    assert several is not None and several.error_code == "MULTIPLE_CHOICES" and "sobjects/Account/1" in several.message
    assert translate(ValueError("a bug")) is None


def test_translation_of_connection_errors() -> None:
    never_sent = translate(requests.ConnectTimeout("timed out connecting"))
    assert isinstance(never_sent, TransientError) and not never_sent.may_have_succeeded
    dropped = translate(requests.ConnectionError("connection reset"))
    assert isinstance(dropped, TransientError) and dropped.may_have_succeeded
    tls = translate(requests.exceptions.SSLError("certificate verify failed"))
    assert tls is not None and not isinstance(tls, TransientError) and tls.error_code == "TLS_ERROR"


def test_record_errors_use_status_code() -> None:
    error = record_error({"statusCode": "DUPLICATE_VALUE", "message": "dup", "fields": ["Hub_Id__c"]})
    assert error == SalesforceError("DUPLICATE_VALUE", "dup", ["Hub_Id__c"])
    assert isinstance(record_error({"statusCode": "UNABLE_TO_LOCK_ROW", "message": "lock"}), TransientError)


# -- Bulk result mapping ------------------------------------------------------------------------------------------
def _table(operation: str, records: list, external_id: str | None = None) -> Table:
    results: list[WriteResult | None] = [None] * len(records)
    return build_table(operation, external_id, list(enumerate(records)), results)


def test_build_table_marks_missing_and_null_values() -> None:
    table = _table("update", [{"Id": "001A", "Name": "x"}, {"Id": "001B", "Phone": None}])
    assert table.header == ["Id", "Name", "Phone"]
    assert [cells for _, cells in table.rows] == [["001A", "x", ""], ["001B", "", "#N/A"]]
    assert render_csv(table.header, [cells for _, cells in table.rows]) == "Id,Name,Phone\n001A,x,\n001B,,#N/A\n"
    assert _table("delete", ["001A", "003B"]).header == ["Id"]


def test_correlate_out_of_order_results_with_duplicates() -> None:
    records = [{"LastName": "A"}, {"LastName": "B"}, {"LastName": "A"}, {"LastName": "C"}]
    table = _table("create", records)
    successful = '"sf__Id","sf__Created",LastName\n"003C","true","C"\n"003A2","true","A"\n"003A1","true","A"\n'
    failed = '"sf__Id","sf__Error",LastName\n"","DUPLICATES_DETECTED:dup:--","B"\n'
    results: list[WriteResult | None] = [None] * 4
    correlate("create", table, None, successful, failed, "", "done", results)
    assert [(r.index, r.success) for r in results if r] == [(0, True), (1, False), (2, True), (3, True)]
    assert results[3] and results[3].id == "003C"
    assert {results[0].id, results[2].id} == {"003A1", "003A2"}  # type: ignore[union-attr]
    assert results[1] and results[1].error_codes == ["DUPLICATES_DETECTED"]


def test_correlate_falls_back_to_the_key_and_reports_missing_results() -> None:
    table = _table("update", [{"Id": "001A", "Name": "x"}, {"Id": "001B", "Name": "y"}, {"Id": "001C", "Name": "z"}])
    # the org echoed the Name differently (trimmed, say): the Id still finds the input
    successful = '"sf__Id","sf__Created",Id,Name\n"001B","false","001B","Y"\n'
    unprocessed = "Id,Name\n001C,z\n"
    results: list[WriteResult | None] = [None] * 3
    correlate("update", table, None, successful, "", unprocessed, "Bulk job 750x ended Failed: boom", results)
    assert results[1] == WriteResult(1, "001B", True, False, [])
    assert results[2] and results[2].error_codes == ["NOT_PROCESSED"] and "boom" in results[2].errors[0].message
    assert results[0] and results[0].error_codes == ["RESULT_MISSING"]


def test_correlate_reads_result_columns_by_name() -> None:
    table = _table("upsert", [{"Hub_Id__c": "h1", "Name": "One"}, {"Hub_Id__c": "h2", "Name": "Two"}], "Hub_Id__c")
    successful = '"sf__Id","sf__Created",Name,Hub_Id__c\n"001Y","false","Two","h2"\n"001X","true","One","h1"\n'
    results: list[WriteResult | None] = [None] * 2
    correlate("upsert", table, "Hub_Id__c", successful, "", "", "done", results)
    assert results == [WriteResult(0, "001X", True, True, []), WriteResult(1, "001Y", True, False, [])]


def test_split_by_size() -> None:
    table = _table("create", [{"Name": "x" * 100} for _ in range(10)])
    parts = split_by_size(table, max_bytes=350)
    assert [len(part.rows) for part in parts] == [3, 3, 3, 1]
    assert [index for part in parts for index, _ in part.rows] == list(range(10))


# -- backoff and SOQL --------------------------------------------------------------------------------------------
def test_retry_delays_grow_exponentially_with_jitter_and_a_ceiling() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=5.0, jitter=0.5, random=lambda: 1.0)
    assert [policy.delay(n) for n in range(5)] == [0.5, 1.0, 2.0, 2.5, 2.5]
    no_jitter = RetryPolicy(base_delay=1.0, max_delay=5.0, jitter=0.5, random=lambda: 0.0)
    assert [no_jitter.delay(n) for n in range(4)] == [1.0, 2.0, 4.0, 5.0]
    with pytest.raises(ValueError):
        RetryPolicy(attempts=0)


def test_soql_literals() -> None:
    assert soql_quote("O'Brien \\ co") == "'O\\'Brien \\\\ co'"
    assert soql_quote(None) == "null" and soql_quote(True) == "true" and soql_quote(12.5) == "12.5"
    assert soql_quote(date(2026, 1, 2)) == "2026-01-02"
    assert soql_quote(datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)) == "2026-01-02T03:04:05Z"
