"""Fixtures for the mail tests: one private Dovecot for the session (a fresh mailbox user per test), a sandbox
org, a SQLite hub database and a Salesforce client for the test's own checks."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from dovecot_server import DovecotServer, MailUser
from mail_helpers import MailClient

from salesbridge.demo import demo_schema_file
from salesbridge.sandbox.server import RunningSandbox, start_in_thread

TASK_SCHEMA = str(Path(__file__).with_name("task_schema.yaml"))


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    workdir = Path(tempfile.mkdtemp(prefix="salesbridge-dovecot-"))
    server = DovecotServer(workdir)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture
def mail_user(dovecot: DovecotServer) -> MailUser:
    return dovecot.add_user()


@pytest.fixture
def mail_client(dovecot: DovecotServer, mail_user: MailUser) -> Iterator[MailClient]:
    client = MailClient(dovecot, mail_user)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def org() -> Iterator[RunningSandbox]:
    running = start_in_thread(schema_files=(demo_schema_file(), TASK_SCHEMA))
    try:
        yield running
    finally:
        running.stop()
