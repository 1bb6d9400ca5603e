"""Shared fixtures: a real sandbox server over HTTPS on a loopback port, and clients logged in to it.

- ``sandbox``: a fresh in-memory org per test (``.url``, ``.ca_path``, ``.org``, ``.login()``, ``.http()``).
- ``shared_sandbox``: one org for the whole session, for tests that only read or that build expensive data.
- ``sf``: an unmodified ``simple_salesforce.Salesforce`` logged in to ``sandbox`` (API version 62.0).
- ``postgres_url``: SQLAlchemy URL of the test PostgreSQL; fails (never skips) when it is unreachable.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import requests
from postgres_support import isolated_schema, postgres_base_url, require_postgres
from simple_salesforce import Salesforce

from salesbridge.demo import demo_schema_file
from salesbridge.salesforce import LoginSettings, SalesforceClient
from salesbridge.sandbox.server import RunningSandbox, start_in_thread

#: requests lets these override ``Session.verify`` (requests issue 3829), which would stop a session that
#: trusts the sandbox's certificate from trusting it.
_CA_BUNDLE_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


@pytest.fixture(scope="session", autouse=True)
def _session_verify_is_honoured() -> Iterator[None]:
    saved = {name: os.environ.pop(name) for name in _CA_BUNDLE_VARIABLES if name in os.environ}
    yield
    os.environ.update(saved)


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    running = start_in_thread()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def shared_sandbox() -> Iterator[RunningSandbox]:
    running = start_in_thread()
    try:
        yield running
    finally:
        running.stop()


def salesforce_client(running: RunningSandbox, version: str = "62.0") -> Salesforce:
    """simple-salesforce as an application would build it: instance URL, session id, a verifying session."""
    instance_url, access_token = running.login()
    session = requests.Session()
    session.verify = running.ca_path
    return Salesforce(instance_url=instance_url, session_id=access_token, session=session, version=version)


@pytest.fixture
def sf(sandbox: RunningSandbox) -> Salesforce:
    return salesforce_client(sandbox)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    return require_postgres(postgres_base_url())


@pytest.fixture
def org() -> Iterator[RunningSandbox]:
    """A fresh sandbox org with the example schema: Hub_Id__c external ids on Account, Contact, Lead, Opportunity."""
    running = start_in_thread(schema_files=(demo_schema_file(),))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def app_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # noqa: ANN001
    """The app database URL: a SQLite file, or an isolated schema on the test PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'app.db'}"
        return
    with isolated_schema(request.getfixturevalue("postgres_url"), "sb_app") as (url, _schema):
        yield url


@pytest.fixture
def sf_client(org: RunningSandbox) -> Iterator[SalesforceClient]:
    """The hub's own client, logged in to ``org`` as the admin (the password flow of the seeded connected app)."""
    client = SalesforceClient(LoginSettings(
        login_url=org.url, flow="password", client_id="salesbridge", client_secret="salesbridge-secret",
        username="admin@sandbox.example", password="sandbox-pass", verify=str(org.ca_path)))
    try:
        yield client
    finally:
        client.close()

