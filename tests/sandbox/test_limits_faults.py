"""The daily API allowance (Sforce-Limit-Info, REQUEST_LIMIT_EXCEEDED) and fault injection."""

from __future__ import annotations

import time

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
)

from salesbridge.sandbox.faults import FaultInjector, FaultSettings
from salesbridge.sandbox.org import OrgSettings
from salesbridge.sandbox.server import RunningSandbox, start_in_thread

API = "/services/data/v62.0"


def limit_info(response: requests.Response) -> tuple[int, int]:
    value = response.headers["Sforce-Limit-Info"]
    assert value.startswith("api-usage=")
    used, maximum = value.removeprefix("api-usage=").split("/")
    return int(used), int(maximum)


class Client:
    """A bearer-token client of one sandbox, for raw HTTP answers."""

    def __init__(self, sandbox: RunningSandbox) -> None:
        self.sandbox = sandbox
        self.http = sandbox.http()
        _, self.token = sandbox.login()
        self.http.headers["Authorization"] = f"Bearer {self.token}"

    def get(self, path: str) -> requests.Response:
        return self.http.get(self.sandbox.url + path)

    def post(self, path: str, body: object) -> requests.Response:
        return self.http.post(self.sandbox.url + path, json=body)

    def admin(self, action: str, body: object | None = None) -> dict:
        response = self.http.post(f"{self.sandbox.url}/sandbox/admin/{action}", json=body or {})
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def client(sandbox: RunningSandbox) -> Client:
    return Client(sandbox)


# -- API usage --------------------------------------------------------------------------------------------

def test_every_api_answer_carries_limit_info_and_counts(client: Client) -> None:
    first = client.get(f"{API}/limits")
    second = client.get(f"{API}/sobjects/Account/001000000000000AAA")  # an error answer counts too
    assert first.status_code == 200 and second.status_code >= 400
    used_first, maximum = limit_info(first)
    used_second, _ = limit_info(second)
    assert maximum == 15000
    assert used_second == used_first + 1
    assert first.json()["DailyApiRequests"] == {"Max": 15000, "Remaining": 15000 - used_first}


def test_requests_without_a_valid_session_do_not_count(client: Client) -> None:
    before = client.sandbox.org.api_usage.used
    anonymous = requests.get(client.sandbox.url + f"{API}/limits", verify=client.sandbox.ca_path)
    assert anonymous.status_code == 401
    assert limit_info(anonymous) == (before, 15000)
    assert client.sandbox.org.api_usage.used == before


def test_simple_salesforce_reads_the_usage(sf: Salesforce) -> None:
    sf.restful("limits/")
    usage = sf.api_usage["api-usage"]
    assert usage.total == 15000
    assert usage.used >= 1


def test_limit_exceeded_answers_403_and_the_window_rolls() -> None:
    running = start_in_thread(settings=OrgSettings(daily_api_limit=3))
    try:
        client = Client(running)
        answers = [client.get(f"{API}/limits") for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 403]
        assert answers[3].json() == [{"message": "TotalRequests Limit exceeded.",
                                      "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
        assert limit_info(answers[3]) == (3, 3)
        session = running.http()
        sf = Salesforce(instance_url=running.url, session_id=client.token, session=session, version="62.0")
        with pytest.raises(SalesforceRefusedRequest):
            sf.restful("limits/")
        running.org.clock.advance(25 * 3600)  # also ends the session: log in again
        assert Client(running).get(f"{API}/limits").status_code == 200
    finally:
        running.stop()


def test_usage_survives_a_restart(tmp_path) -> None:  # noqa: ANN001 - pytest's tmp_path
    data = tmp_path / "org.db"
    first = start_in_thread(data=data)
    try:
        client = Client(first)
        client.get(f"{API}/limits")
        used = first.org.api_usage.used
    finally:
        first.stop()
    second = start_in_thread(data=data)
    try:
        assert second.org.api_usage.used == used
    finally:
        second.stop()


def test_admin_settings_change_the_limit(client: Client) -> None:
    status = client.admin("settings", {"daily_api_limit": 50})
    assert status["settings"]["daily_api_limit"] == 50
    assert limit_info(client.get(f"{API}/limits"))[1] == 50
    refused = client.http.post(f"{client.sandbox.url}/sandbox/admin/settings", json={"organization_id": "x"})
    assert refused.status_code == 400
    assert refused.json()[0]["errorCode"] == "INVALID_FIELD"


# -- faults -----------------------------------------------------------------------------------------------

def test_exhaust_limits(client: Client) -> None:
    client.admin("faults", {"exhaust_limits": True})
    answer = client.get(f"{API}/limits")
    assert answer.status_code == 403
    assert answer.json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"


def test_expire_sessions_fault(client: Client, sf: Salesforce) -> None:
    client.admin("faults", {"expire_sessions": True})
    with pytest.raises(SalesforceExpiredSession):
        sf.restful("limits/")
    assert client.get(f"{API}/limits").json()[0]["errorCode"] == "INVALID_SESSION_ID"


def test_error_rate_answers_5xx_reproducibly(client: Client) -> None:
    def statuses() -> list[int]:
        client.admin("faults", {"error_rate": 0.5, "seed": 7})
        return [client.get(f"{API}/limits").status_code for _ in range(12)]

    first = statuses()
    assert first == statuses()
    assert set(first) <= {200, 500, 503}
    assert 200 in first and ({500, 503} & set(first))


def test_error_answers_carry_salesforce_bodies(client: Client, sf: Salesforce) -> None:
    client.admin("faults", {"error_rate": 1.0, "seed": 1})
    answers = [client.get(f"{API}/limits") for _ in range(8)]
    codes = {a.status_code: a.json()[0]["errorCode"] for a in answers}
    assert codes == {500: "UNKNOWN_EXCEPTION", 503: "SERVER_UNAVAILABLE"}
    assert all("Sforce-Limit-Info" in a.headers for a in answers)
    with pytest.raises(SalesforceGeneralError):
        sf.restful("limits/")


def test_fail_next_requests(client: Client) -> None:
    client.admin("faults", {"fail_next_requests": 2})
    statuses = [client.get(f"{API}/limits").status_code for _ in range(3)]
    assert statuses[0] in (500, 503) and statuses[1] in (500, 503)
    assert statuses[2] == 200
    assert client.get(f"{API}/limits").status_code == 200


def test_error_after_loses_the_answer_but_keeps_the_write(client: Client, sandbox: RunningSandbox) -> None:
    client.admin("faults", {"fail_next_requests": 1, "error_after": True})
    answer = client.post(f"{API}/sobjects/Account", {"Name": "Written but unanswered"})
    assert answer.status_code in (500, 503)
    names = [record["Name"] for record in sandbox.org.store.records("Account")]
    assert names == ["Written but unanswered"]


def test_faulted_requests_before_handling_do_not_count(client: Client, sandbox: RunningSandbox) -> None:
    before = sandbox.org.api_usage.used
    client.admin("faults", {"fail_next_requests": 3})
    for _ in range(3):
        client.get(f"{API}/limits")
    assert sandbox.org.api_usage.used == before


def test_latency(client: Client) -> None:
    client.admin("faults", {"latency_ms": 300})
    started = time.monotonic()
    assert client.get(f"{API}/limits").status_code == 200
    assert time.monotonic() - started >= 0.3  # a lower bound: the answer cannot come sooner


def test_lock_next_writes_fails_a_single_write(client: Client, sf: Salesforce) -> None:
    client.admin("faults", {"lock_next_writes": 1})
    with pytest.raises(SalesforceMalformedRequest) as locked:
        sf.Account.create({"Name": "Locked"})
    assert locked.value.status == 400
    assert locked.value.content[0]["errorCode"] == "UNABLE_TO_LOCK_ROW"
    assert "unable to obtain exclusive access to this record" in locked.value.content[0]["message"]
    created = sf.Account.create({"Name": "Retried"})
    assert created["success"] is True


def test_lock_on_update_names_the_record(client: Client, sf: Salesforce) -> None:
    account_id = sf.Account.create({"Name": "To update"})["id"]
    client.admin("faults", {"lock_next_writes": 1})
    with pytest.raises(SalesforceMalformedRequest) as locked:
        sf.Account.update(account_id, {"Name": "Changed"})
    assert locked.value.content[0]["message"] == \
        f"unable to obtain exclusive access to this record or 1 records: {account_id}"


def test_lock_in_collections_fails_per_record(client: Client, sf: Salesforce) -> None:
    client.admin("faults", {"lock_next_writes": 1})
    results = sf.restful("composite/sobjects", method="POST", json={"allOrNone": False, "records": [
        {"attributes": {"type": "Account"}, "Name": "First"},
        {"attributes": {"type": "Account"}, "Name": "Second"},
    ]})
    assert results[0]["success"] is False
    assert results[0]["errors"][0]["statusCode"] == "UNABLE_TO_LOCK_ROW"
    assert results[1]["success"] is True


def test_lock_rate_is_reproducible_with_a_seed() -> None:
    def decisions() -> list[bool]:
        injector = FaultInjector(FaultSettings(lock_rate=0.3, seed=42))
        return [injector.should_lock() for _ in range(50)]

    first = decisions()
    assert first == decisions()
    assert any(first) and not all(first)
    assert not FaultInjector().should_lock()


def test_fault_settings_are_validated(client: Client) -> None:
    for bad in ({"error_rate": 2}, {"latency_ms": -1}, {"surprise": True}):
        answer = client.http.post(f"{client.sandbox.url}/sandbox/admin/faults", json=bad)
        assert answer.status_code == 400, bad
    assert client.http.get(f"{client.sandbox.url}/sandbox/admin/faults").json()["error_rate"] == 0.0


def test_faults_from_config() -> None:
    running = start_in_thread(settings=OrgSettings.from_dict({"faults": {"fail_next_requests": 1}}))
    try:
        client = Client(running)
        assert client.get(f"{API}/limits").status_code in (500, 503)
        assert client.get(f"{API}/limits").status_code == 200
    finally:
        running.stop()


def test_faults_are_off_for_oauth_and_admin(client: Client) -> None:
    client.admin("faults", {"error_rate": 1.0})
    assert client.sandbox.login()[1]
    assert client.http.get(f"{client.sandbox.url}/sandbox/admin/settings").status_code == 200
