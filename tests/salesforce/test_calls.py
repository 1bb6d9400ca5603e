"""What happens around every call: counting, the org's reported usage, the budget guard, the org's own limit,
session expiry and transient failures (sandbox fault injection)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sf_helpers import ADMIN, Admin, RecordedSleeps, password_settings

from salesbridge.salesforce import (
    ApiLimitExceeded,
    BudgetExhausted,
    LoginSettings,
    RetryPolicy,
    SalesforceClient,
    SalesforceError,
    SessionExpiredError,
    TransientError,
)
from salesbridge.sandbox.server import RunningSandbox

MakeClient = Callable[..., SalesforceClient]


def _seed_accounts(sandbox: RunningSandbox, count: int) -> list[str]:
    """Accounts written straight into the org (no API calls), as another integration would have made them."""
    admin_id = sandbox.org.user_record(ADMIN)["Id"]
    return [sandbox.org.records.create("Account", {"Name": f"Seed {n:05d}"}, admin_id) for n in range(count)]


# -- counting and usage -------------------------------------------------------------------------------------
def test_every_request_is_counted_once_and_matches_the_orgs_count(sandbox: RunningSandbox,
                                                                  client: SalesforceClient) -> None:
    _seed_accounts(sandbox, 2100)
    before = sandbox.org.api_usage.used
    assert len(client.query_all("SELECT Id FROM Account")) == 2100  # 2 pages
    client.describe("Account")
    client.describe("Account")  # cached: no call
    client.limits()
    client.create("Contact", [{"LastName": "One"}, {"LastName": "Two"}])
    assert client.api_calls == 5
    assert sandbox.org.api_usage.used - before == client.api_calls
    client.reset_counter()
    assert client.api_calls == 0
    client.count("SELECT COUNT() FROM Account")
    assert client.api_calls == 1


def test_org_usage_is_read_from_sforce_limit_info(sandbox: RunningSandbox, client: SalesforceClient) -> None:
    assert client.org_usage is None
    client.query_all("SELECT Id FROM Account")
    used, maximum = client.org_usage or (None, None)
    assert (used, maximum) == (sandbox.org.api_usage.used, sandbox.org.settings.daily_api_limit)
    client.limits()
    assert client.org_usage == (sandbox.org.api_usage.used, 15000)


def test_budget_guard_stops_before_sending(sandbox: RunningSandbox, admin: Admin, make_client: MakeClient) -> None:
    admin.settings(daily_api_limit=10)
    client = make_client(budget_share=0.5)
    for _ in range(5):
        client.query_all("SELECT Id FROM Account LIMIT 1")
    assert client.org_usage == (5, 10)
    with pytest.raises(BudgetExhausted) as caught:
        client.query_all("SELECT Id FROM Account LIMIT 1")
    assert (caught.value.used, caught.value.maximum, caught.value.share) == (5, 10, 0.5)
    assert client.api_calls == 5  # nothing was sent
    assert sandbox.org.api_usage.used == 5


def test_budget_guard_stops_a_write_and_says_what_was_done(admin: Admin, make_client: MakeClient) -> None:
    admin.settings(daily_api_limit=4)
    client = make_client(budget_share=0.5)
    client.query_all("SELECT Id FROM Account LIMIT 1")
    with pytest.raises(BudgetExhausted) as caught:
        client.create("Contact", [{"LastName": f"C{n}"} for n in range(250)])  # two calls of 200 + 50
    results = caught.value.partial_results
    assert results is not None and len(results) == 250
    assert all(result.success for result in results[:200])
    assert all(not result.success and result.retryable for result in results[200:])
    assert results[249].errors[0].error_code == "BUDGET_EXHAUSTED"


def test_org_limit_exceeded_is_not_retried(admin: Admin, client: SalesforceClient, sleeps: RecordedSleeps) -> None:
    client.login()
    admin.faults(exhaust_limits=True)
    with pytest.raises(ApiLimitExceeded) as caught:
        client.query_all("SELECT Id FROM Account")
    assert (caught.value.error_code, caught.value.status) == ("REQUEST_LIMIT_EXCEEDED", 403)
    assert client.api_calls == 1
    assert sleeps == []


# -- sessions ----------------------------------------------------------------------------------------------------
def test_expired_session_is_renewed_transparently(sandbox: RunningSandbox, admin: Admin,
                                                  client: SalesforceClient) -> None:
    _seed_accounts(sandbox, 450)
    pages = client.query("SELECT Id FROM Account", batch_size=200)
    first = next(pages)
    admin.expire_sessions()
    rest = [record for page in pages for record in page]
    assert len(first) + len(rest) == 450
    assert client.logins == 2
    # 3 pages, plus the one page request refused with 401 before the new login
    assert client.api_calls == 4


def test_renewal_uses_the_refresh_token_when_there_is_one(sandbox: RunningSandbox, admin: Admin,
                                                          make_client: MakeClient) -> None:
    settings = password_settings(sandbox, client_id="salesbridge-refresh", client_secret="salesbridge-refresh-secret")
    client = make_client(settings)
    assert client.login().refresh_token
    settings.password = "changed-since"  # a new password login would now fail; the refresh token still works
    admin.expire_sessions()
    assert client.query_all("SELECT Id FROM Account") == []
    assert client.logins == 2


def test_a_given_session_cannot_be_renewed(sandbox: RunningSandbox, admin: Admin, make_client: MakeClient) -> None:
    instance_url, access_token = sandbox.login()
    client = make_client(LoginSettings(flow="session", access_token=access_token, instance_url=instance_url,
                                       verify=sandbox.ca_path))
    client.query_all("SELECT Id FROM Account")
    admin.expire_sessions()
    with pytest.raises(SessionExpiredError):
        client.query_all("SELECT Id FROM Account")


# -- transient failures ------------------------------------------------------------------------------------------
def test_server_errors_are_retried_with_backoff(admin: Admin, client: SalesforceClient,
                                                sleeps: RecordedSleeps) -> None:
    client.login()
    admin.faults(fail_next_requests=2, seed=1)
    assert client.query_all("SELECT Id FROM Account") == []
    assert sleeps == [0.5, 1.0]
    assert client.api_calls == 3


def test_server_errors_give_up_after_the_configured_attempts(admin: Admin, client: SalesforceClient,
                                                             sleeps: RecordedSleeps) -> None:
    client.login()
    admin.faults(fail_next_requests=10)
    with pytest.raises(TransientError) as caught:
        client.query_all("SELECT Id FROM Account")
    assert caught.value.status in (500, 503)
    assert caught.value.error_code in ("UNKNOWN_EXCEPTION", "SERVER_UNAVAILABLE")
    assert sleeps == [0.5, 1.0, 2.0]
    assert client.api_calls == 4


def test_a_create_answered_5xx_is_not_repeated(sandbox: RunningSandbox, admin: Admin,
                                               client: SalesforceClient) -> None:
    """The answer was lost after the insert happened: repeating it would insert the records twice."""
    client.login()
    admin.faults(fail_next_requests=1, error_after=True)
    with pytest.raises(TransientError) as caught:
        client.create("Contact", [{"LastName": "Once"}])
    assert caught.value.may_have_succeeded
    assert client.api_calls == 1
    assert len([r for r in sandbox.org.store.records("Contact") if r["LastName"] == "Once"]) == 1


def test_an_update_answered_5xx_is_repeated(sandbox: RunningSandbox, admin: Admin,
                                            client: SalesforceClient) -> None:
    [account_id] = _seed_accounts(sandbox, 1)
    client.login()
    admin.faults(fail_next_requests=1, error_after=True)
    [result] = client.update("Account", [{"Id": account_id, "Name": "Renamed"}])
    assert result.success and result.id == account_id
    assert sandbox.org.store.get(account_id)["Name"] == "Renamed"


def test_row_lock_failures_are_sent_again_on_their_own(sandbox: RunningSandbox, admin: Admin,
                                                       client: SalesforceClient, sleeps: RecordedSleeps) -> None:
    client.login()
    admin.faults(lock_next_writes=3)
    results = client.create("Contact", [{"LastName": f"L{n}"} for n in range(10)])
    assert all(result.success for result in results)
    assert [result.index for result in results] == list(range(10))
    names = {sandbox.org.store.get(result.id)["LastName"] for result in results}
    assert names == {f"L{n}" for n in range(10)}
    assert client.api_calls == 2  # the batch of 10, then the 3 locked records alone
    assert sleeps == [0.5]


def test_row_lock_failures_stay_failures_once_retries_are_used_up(admin: Admin, make_client: MakeClient,
                                                                  sleeps: RecordedSleeps) -> None:
    client = make_client(retry=RetryPolicy(lock_retries=2, jitter=0.0, sleep=sleeps))
    client.login()
    admin.faults(lock_next_writes=100)
    results = client.create("Contact", [{"LastName": "A"}, {"LastName": "B"}])
    assert [result.error_codes for result in results] == [["UNABLE_TO_LOCK_ROW"]] * 2
    assert all(isinstance(result.errors[0], TransientError) and result.retryable for result in results)
    assert client.api_calls == 3


def test_connection_failures_are_transient(sandbox: RunningSandbox, client: SalesforceClient,
                                           sleeps: RecordedSleeps) -> None:
    client.login()
    sandbox.stop()
    with pytest.raises(TransientError) as caught:
        client.query_all("SELECT Id FROM Account")
    assert caught.value.error_code == "CONNECTION_ERROR"
    assert len(sleeps) == 3


def test_request_errors_are_salesforce_errors_with_the_orgs_code(client: SalesforceClient,
                                                                 sleeps: RecordedSleeps) -> None:
    with pytest.raises(SalesforceError) as caught:
        client.query_all("SELECT Nope FROM Account")
    assert caught.value.error_code == "INVALID_FIELD"
    assert caught.value.status == 400
    assert type(caught.value) is SalesforceError
    assert sleeps == []
    with pytest.raises(SalesforceError) as caught:
        client.describe("NoSuchObject__c")
    assert caught.value.status == 404
