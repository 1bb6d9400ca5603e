"""Fixtures for the contacts tests: one private Radicale for the session (a fresh user per test), a sandbox
org with the example schema, the hub's database (SQLite, and PostgreSQL for the marked tests) and a
Salesforce client for the test's own checks."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from contacts_helpers import AddressBookUser
from postgres_support import isolated_schema
from radicale_server import RadicaleServer

from salesbridge.demo import demo_schema_file
from salesbridge.salesforce import LoginSettings, SalesforceClient
from salesbridge.sandbox.server import RunningSandbox, start_in_thread


@pytest.fixture(scope="session")
def radicale() -> Iterator[RadicaleServer]:
    workdir = Path(tempfile.mkdtemp(prefix="salesbridge-radicale-"))
    server = RadicaleServer(workdir)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def person(radicale: RadicaleServer) -> Iterator[AddressBookUser]:
    """A fresh CardDAV user, acting as their address book app would."""
    user = AddressBookUser(radicale, radicale.add_user())
    try:
        yield user
    finally:
        user.close()


@pytest.fixture
def org() -> Iterator[RunningSandbox]:
    running = start_in_thread(schema_files=(demo_schema_file(),))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def app_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hub.db'}"
        return
    with isolated_schema(request.getfixturevalue("postgres_url"), "sb_contacts") as (url, _schema):
        yield url


@pytest.fixture
def sf_client(org: RunningSandbox) -> Iterator[SalesforceClient]:
    client = SalesforceClient(
        LoginSettings(
            login_url=org.url,
            flow="password",
            client_id="salesbridge",
            client_secret="salesbridge-secret",
            username="admin@sandbox.example",
            password="sandbox-pass",
            verify=str(org.ca_path),
        )
    )
    try:
        yield client
    finally:
        client.close()
