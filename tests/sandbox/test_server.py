"""The sandbox server process: start, TLS, seeded users, fixtures."""

from __future__ import annotations

from simple_salesforce import Salesforce

from salesbridge.sandbox.server import RunningSandbox


def test_sf_fixture_reads_seeded_users(sandbox: RunningSandbox, sf: Salesforce) -> None:
    for username in ("admin@sandbox.example", "sales.manager@sandbox.example"):
        record = sandbox.org.user_record(username)
        assert record is not None and record["Id"].startswith("005") and len(record["Id"]) == 18
        assert sf.User.get(record["Id"])["Username"] == username


def test_login_answers_own_https_url(sandbox: RunningSandbox) -> None:
    instance_url, token = sandbox.login()
    assert instance_url == sandbox.url
    assert instance_url.startswith("https://127.0.0.1:")
    assert token.startswith(sandbox.org.organization_id[:15] + "!")
