"""Data replication resources: sObject Get Updated and Get Deleted."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

from salesbridge.salesforce.datetimes import format_datetime, parse_datetime
from salesbridge.sandbox import rest_sobjects
from salesbridge.sandbox.server import RunningSandbox


def stamp_of(sandbox: RunningSandbox, record_id: str) -> datetime:
    return parse_datetime(sandbox.org.store.get(record_id)["SystemModstamp"])


def minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def raw_session(sandbox: RunningSandbox) -> requests.Session:
    _, token = sandbox.login()
    session = sandbox.http()
    session.headers["Authorization"] = f"Bearer {token}"
    return session


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def replication(sandbox: RunningSandbox, kind: str, start: str | None, end: str | None) -> requests.Response:
    params = {name: value for name, value in (("start", start), ("end", end)) if value is not None}
    return raw_session(sandbox).get(f"{sandbox.url}/services/data/v62.0/sobjects/Account/{kind}/", params=params,
                                    timeout=30)


def test_get_updated_lists_created_and_changed_records(sandbox: RunningSandbox, sf: Salesforce) -> None:
    first = sf.Account.create({"Name": "One"})["id"]
    second = sf.Account.create({"Name": "Two"})["id"]
    sf.Account.update(first, {"Name": "One again"})
    now = sandbox.org.clock.now()
    result = sf.Account.updated(now - timedelta(hours=1), now + timedelta(minutes=5))
    assert sorted(result["ids"]) == sorted([first, second])
    covered = parse_datetime(result["latestDateCovered"])
    assert minute(now) <= covered <= now + timedelta(minutes=5)
    assert result["latestDateCovered"].endswith(":00.000+0000")


def test_get_updated_covers_only_the_range(sandbox: RunningSandbox, sf: Salesforce) -> None:
    early = sf.Account.create({"Name": "Early"})["id"]
    sandbox.org.clock.advance(600)
    sf.Account.create({"Name": "Late"})
    early_stamp = stamp_of(sandbox, early)
    end = minute(early_stamp) + timedelta(minutes=2)
    result = sf.Account.updated(early_stamp - timedelta(minutes=1), end)
    assert result == {"ids": [early], "latestDateCovered": format_datetime(end)}


def test_seconds_of_start_and_end_are_truncated(sandbox: RunningSandbox, sf: Salesforce) -> None:
    record_id = sf.Account.create({"Name": "Truncated"})["id"]
    stamp = stamp_of(sandbox, record_id)
    sandbox.org.clock.advance(180)
    start = stamp.replace(second=59)  # read as hh:mm:00, so the record (at hh:mm:ss) is inside
    result = sf.Account.updated(start, minute(stamp) + timedelta(minutes=2, seconds=30))
    assert result["ids"] == [record_id]
    assert result["latestDateCovered"] == format_datetime(minute(stamp) + timedelta(minutes=2))


def test_get_updated_leaves_out_deleted_records(sandbox: RunningSandbox, sf: Salesforce) -> None:
    kept = sf.Account.create({"Name": "Kept"})["id"]
    gone = sf.Account.create({"Name": "Gone"})["id"]
    sf.Account.delete(gone)
    now = sandbox.org.clock.now()
    assert sf.Account.updated(now - timedelta(hours=1), now + timedelta(minutes=1))["ids"] == [kept]


def test_get_deleted(sandbox: RunningSandbox, sf: Salesforce) -> None:
    kept = sf.Account.create({"Name": "Kept"})["id"]
    gone = sf.Account.create({"Name": "Gone"})["id"]
    sf.Account.delete(gone)
    deleted_date = sandbox.org.store.get(gone)["SystemModstamp"]
    now = sandbox.org.clock.now()
    result = sf.Account.deleted(now - timedelta(days=1), now + timedelta(minutes=1))
    assert result["deletedRecords"] == [{"id": gone, "deletedDate": deleted_date}]
    assert kept not in str(result)
    earliest = now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=15)
    assert result["earliestDateAvailable"] == format_datetime(earliest)
    assert parse_datetime(result["latestDateCovered"]) <= now + timedelta(minutes=1)


def test_get_deleted_outside_the_range_is_empty(sandbox: RunningSandbox, sf: Salesforce) -> None:
    gone = sf.Account.create({"Name": "Gone"})["id"]
    sf.Account.delete(gone)
    deleted = stamp_of(sandbox, gone)
    result = sf.Account.deleted(deleted - timedelta(hours=2), deleted - timedelta(hours=1))
    assert result["deletedRecords"] == []


@pytest.mark.parametrize("kind, days_back, allowed", [
    ("updated", 29, True), ("updated", 31, False), ("deleted", 14, True), ("deleted", 16, False)])
def test_how_far_back_the_window_reaches(sandbox: RunningSandbox, kind: str, days_back: int,
                                         allowed: bool) -> None:
    now = sandbox.org.clock.now()
    answer = replication(sandbox, kind, iso(now - timedelta(days=days_back)), iso(now))
    if allowed:
        assert answer.status_code == 200
    else:
        assert answer.status_code == 400
        assert answer.json()[0]["errorCode"] == "INVALID_REPLICATION_DATE"


@pytest.mark.parametrize("kind", ["updated", "deleted"])
def test_start_must_precede_end(sandbox: RunningSandbox, kind: str) -> None:
    now = minute(sandbox.org.clock.now())
    for start, end in ((now, now), (now, now - timedelta(minutes=5)),
                       # equal once seconds are truncated
                       (now + timedelta(seconds=10), now + timedelta(seconds=50))):
        answer = replication(sandbox, kind, iso(start), iso(end))
        assert answer.status_code == 400
        assert answer.json()[0]["errorCode"] == "INVALID_REPLICATION_DATE"


def test_malformed_and_missing_dates(sandbox: RunningSandbox) -> None:
    now = sandbox.org.clock.now()
    answer = replication(sandbox, "updated", "yesterday", iso(now))
    assert answer.status_code == 400 and answer.json()[0]["errorCode"] == "INVALID_REPLICATION_DATE"
    answer = replication(sandbox, "deleted", iso(now - timedelta(hours=1)), None)
    assert answer.status_code == 400 and answer.json()[0]["errorCode"] == "MISSING_ARGUMENT"


def test_unencoded_plus_in_the_offset_is_read(sandbox: RunningSandbox, sf: Salesforce) -> None:
    record_id = sf.Account.create({"Name": "Plus"})["id"]
    now = sandbox.org.clock.now()
    url = (f"{sandbox.url}/services/data/v62.0/sobjects/Account/updated/"
           f"?start={iso(now - timedelta(hours=1))}&end={iso(now + timedelta(minutes=1))}")
    assert "+00:00" in url
    answer = raw_session(sandbox).get(url, timeout=30)
    assert answer.status_code == 200 and answer.json()["ids"] == [record_id]


def test_more_ids_than_the_limit(sandbox: RunningSandbox, sf: Salesforce, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rest_sobjects, "REPLICATION_ID_LIMIT", 2)
    for name in ("A", "B", "C"):
        sf.Account.create({"Name": name})
    now = sandbox.org.clock.now()
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.Account.updated(now - timedelta(hours=1), now + timedelta(minutes=1))
    assert caught.value.content[0]["errorCode"] == "EXCEEDED_ID_LIMIT"


def test_unknown_object_is_not_found(sandbox: RunningSandbox, sf: Salesforce) -> None:
    now = sandbox.org.clock.now()
    with pytest.raises(SalesforceResourceNotFound):
        sf.Nope__c.updated(now - timedelta(hours=1), now)
