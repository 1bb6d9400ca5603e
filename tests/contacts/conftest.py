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
from radicale_server import RadicaleServer


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
