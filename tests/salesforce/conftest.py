"""Fixtures for the Salesforce client's tests: clients logged in to the ``sandbox`` fixture's org, the sandbox's
admin endpoints (faults, expiry, settings), and a retry policy that records its waits instead of sleeping."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sf_helpers import Admin, RecordedSleeps, password_settings

from salesbridge.salesforce import LoginSettings, RetryPolicy, SalesforceClient
from salesbridge.sandbox.server import RunningSandbox


@pytest.fixture
def sleeps() -> RecordedSleeps:
    return RecordedSleeps()


@pytest.fixture
def retry(sleeps: RecordedSleeps) -> RetryPolicy:
    """Four tries, three row-lock re-sends, no real waiting, no randomness (jitter 0)."""
    return RetryPolicy(attempts=4, base_delay=0.5, max_delay=4.0, jitter=0.0, lock_retries=3, sleep=sleeps)


@pytest.fixture
def make_client(sandbox: RunningSandbox, retry: RetryPolicy) -> Iterator[Callable[..., SalesforceClient]]:
    """``make_client(settings=None, **client_options)``: a client of the sandbox, closed after the test."""
    made: list[SalesforceClient] = []

    def make(settings: LoginSettings | None = None, **options: Any) -> SalesforceClient:
        options.setdefault("retry", retry)
        options.setdefault("bulk_poll_interval", 0.02)
        client = SalesforceClient(settings or password_settings(sandbox), **options)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., SalesforceClient]) -> SalesforceClient:
    return make_client()


@pytest.fixture
def admin(sandbox: RunningSandbox) -> Admin:
    return Admin(sandbox)
