"""``query`` / ``queryAll`` paging with nextRecordsUrl, and the cursors behind it."""

from __future__ import annotations

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from salesbridge.sandbox.cursors import CursorStore, cursor_store, split_locator
from salesbridge.sandbox.errors import SandboxApiError
from salesbridge.sandbox.server import RunningSandbox

SEEDED = 2500


def seed_accounts(sandbox: RunningSandbox, count: int) -> list[str]:
    """Accounts written straight through the write path: fast, and the same records the API would make."""
    org = sandbox.org
    user_id = org.user_record("admin@sandbox.example")["Id"]
    return [org.records.create("Account", {"Name": f"Account {index:05d}"}, user_id) for index in range(count)]


@pytest.fixture
def seeded(sandbox: RunningSandbox) -> list[str]:
    return seed_accounts(sandbox, SEEDED)


def error_code(error: Exception) -> str:
    return error.content[0]["errorCode"]  # type: ignore[attr-defined]


def test_query_all_reads_every_page(sf: Salesforce, seeded: list[str]) -> None:
    result = sf.query_all("SELECT Id, Name FROM Account ORDER BY Name")
    assert result["totalSize"] == SEEDED and result["done"] is True
    assert [record["Id"] for record in result["records"]] == seeded
    assert result["records"][0]["attributes"]["type"] == "Account"


def test_first_page_and_query_more(sf: Salesforce, seeded: list[str]) -> None:
    first = sf.query("SELECT Id FROM Account ORDER BY Name")
    assert first["totalSize"] == SEEDED and first["done"] is False and len(first["records"]) == 2000
    next_url = first["nextRecordsUrl"]
    assert next_url.startswith("/services/data/v62.0/query/01g") and next_url.endswith("-2000")

    second = sf.query_more(next_url, identifier_is_url=True)
    assert second["done"] is True and "nextRecordsUrl" not in second
    assert [r["Id"] for r in first["records"] + second["records"]] == seeded

    locator = next_url.rsplit("/", 1)[1]
    again = sf.query_more(locator)
    assert [r["Id"] for r in again["records"]] == seeded[2000:]


def test_batch_size_header_sets_the_page_size(sf: Salesforce, seeded: list[str]) -> None:
    page = sf.query("SELECT Id FROM Account", headers={"Sforce-Query-Options": "batchSize=500"})
    sizes = [len(page["records"])]
    while not page["done"]:
        page = sf.query_more(page["nextRecordsUrl"], identifier_is_url=True)
        sizes.append(len(page["records"]))
    assert sizes == [500, 500, 500, 500, 500]


@pytest.mark.parametrize("option, expected", [("batchSize=50", 200), ("batchSize=5000", 2000),
                                               ("batchSize=abc", 2000)])
def test_batch_size_is_clamped(sf: Salesforce, seeded: list[str], option: str, expected: int) -> None:
    page = sf.query("SELECT Id FROM Account", headers={"Sforce-Query-Options": option})
    assert len(page["records"]) == expected


def test_small_results_come_in_one_page(sf: Salesforce) -> None:
    sf.Account.create({"Name": "Only"})
    result = sf.query("SELECT Name FROM Account")
    assert result == {"totalSize": 1, "done": True, "records": [
        {"attributes": result["records"][0]["attributes"], "Name": "Only"}]}


def test_query_all_sees_deleted_records(sf: Salesforce) -> None:
    kept = sf.Account.create({"Name": "Kept"})["id"]
    gone = sf.Account.create({"Name": "Gone"})["id"]
    sf.Account.delete(gone)
    live = sf.query("SELECT Id FROM Account")
    assert [r["Id"] for r in live["records"]] == [kept]
    everything = sf.query_all("SELECT Id, IsDeleted FROM Account ORDER BY Name", include_deleted=True)
    assert [(r["Id"], r["IsDeleted"]) for r in everything["records"]] == [(gone, True), (kept, False)]
    assert not [key for r in everything["records"] for key in r if key.startswith("_")]


def test_query_all_pages_use_the_query_all_locator(sf: Salesforce, seeded: list[str]) -> None:
    sf.Account.delete(seeded[0])
    first = sf.query("SELECT Id FROM Account", include_deleted=True)
    assert first["nextRecordsUrl"].startswith("/services/data/v62.0/queryAll/")
    rest = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert first["totalSize"] == SEEDED and len(first["records"]) + len(rest["records"]) == SEEDED


def test_count_query(sf: Salesforce, seeded: list[str]) -> None:
    assert sf.query("SELECT COUNT() FROM Account") == {"totalSize": SEEDED, "done": True, "records": []}


@pytest.mark.parametrize("locator", ["01g8d0000000999AAA-2000", "garbage", "01g8d0000000999AAA-x"])
def test_unknown_locators_are_invalid(sf: Salesforce, locator: str) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query_more(locator)
    assert error_code(caught.value) == "INVALID_QUERY_LOCATOR"


def test_offset_beyond_the_result_is_invalid(sf: Salesforce, seeded: list[str]) -> None:
    cursor_id = sf.query("SELECT Id FROM Account")["nextRecordsUrl"].rsplit("/", 1)[1].split("-")[0]
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query_more(f"{cursor_id}-{SEEDED}")
    assert error_code(caught.value) == "INVALID_QUERY_LOCATOR"


def test_expired_cursor_is_invalid(sandbox: RunningSandbox, sf: Salesforce, seeded: list[str]) -> None:
    next_url = sf.query("SELECT Id FROM Account")["nextRecordsUrl"]
    cursors = cursor_store(sandbox.org)
    real_clock = cursors.clock
    cursors.clock = lambda: real_clock() + 15 * 60 + 1
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query_more(next_url, identifier_is_url=True)
    assert error_code(caught.value) == "INVALID_QUERY_LOCATOR"


def test_another_users_cursor_is_invalid(sandbox: RunningSandbox, sf: Salesforce, seeded: list[str]) -> None:
    next_url = sf.query("SELECT Id FROM Account")["nextRecordsUrl"]
    _, token = sandbox.login("sales.manager@sandbox.example")
    answer = sandbox.http().get(sandbox.url + next_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert answer.status_code == 400 and answer.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_query_errors_pass_through(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query("SELECT Id FROM Nothing__c")
    assert error_code(caught.value) == "INVALID_TYPE"
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query("SELECT Bogus FROM Account")
    assert error_code(caught.value) == "INVALID_FIELD"
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.restful("query/")
    assert error_code(caught.value) == "MALFORMED_QUERY"


# -- the cursor store on its own ---------------------------------------------------------------------------
class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def records(count: int) -> list[dict]:
    return [{"Id": str(index)} for index in range(count)]


def test_cursor_pages_and_expiry() -> None:
    clock = FakeClock()
    store = CursorStore(clock=clock)
    cursor = store.open("005A", "query", records(450), 450, 200)
    assert cursor.cursor_id.startswith("01g") and len(cursor.cursor_id) == 18
    assert [len(cursor.page(offset)[0]) for offset in (0, 200, 400)] == [200, 200, 50]
    assert cursor.page(0)[1] == 200 and cursor.page(400)[1] is None
    clock.now += 14 * 60
    assert store.get(cursor.cursor_id, "005A") is cursor  # use keeps it alive
    clock.now += 14 * 60
    assert store.get(cursor.cursor_id, "005A") is cursor
    clock.now += 15 * 60 + 1
    assert store.get(cursor.cursor_id, "005A") is None
    assert len(store) == 0


def test_a_user_keeps_at_most_ten_cursors() -> None:
    store = CursorStore(clock=FakeClock())
    opened = [store.open("005A", "query", records(3), 3, 200).cursor_id for _ in range(11)]
    other = store.open("005B", "query", records(3), 3, 200).cursor_id
    assert store.get(opened[0], "005A") is None
    assert all(store.get(cursor_id, "005A") is not None for cursor_id in opened[1:])
    assert store.get(other, "005B") is not None
    assert store.get(other, "005A") is None


def test_split_locator() -> None:
    assert split_locator("01g8d0000000001AAA-2000") == ("01g8d0000000001AAA", 2000)
    for bad in ("", "-2000", "01g8d0000000001AAA", "01g8d0000000001AAA-"):
        with pytest.raises(SandboxApiError) as caught:
            split_locator(bad)
        assert caught.value.error_code == "INVALID_QUERY_LOCATOR"
