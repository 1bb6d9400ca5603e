"""Setting up the web's security: keys from the environment or a 0600 key file made once, the first admin, the
``salesbridge users`` commands, and the web tables built by the migrations exactly as the models describe."""

from __future__ import annotations

import json
import logging
import os
import socket
import stat
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from api_support import CHEAP_HASHER, web_settings
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from postgres_support import isolated_schema
from sqlalchemy import inspect
from typer.testing import CliRunner

from salesbridge.cli import app as cli_app
from salesbridge.store.db import migrate, open_store
from salesbridge.store.models import Base
from salesbridge.store.web_models import Role
from salesbridge.web import accounts
from salesbridge.web.app import create_web_app
from salesbridge.web.server import bootstrap_admin
from salesbridge.web.settings import (
    FERNET_KEY_VARIABLE,
    SECRET_KEY_VARIABLE,
    KeysUnavailable,
    resolve_settings,
)
from salesbridge.web.state import WebState

WEB_TABLES = {"sb_users", "sb_api_tokens", "sb_web_sessions", "sb_secrets", "sb_audit_log"}


def test_keys_are_made_once_into_a_private_key_file_beside_the_database(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = tmp_path / "salesbridge.yaml"
    with caplog.at_level(logging.WARNING):
        first = resolve_settings(config, environ={})
    key_file = tmp_path / "salesbridge-web.db.keys"
    assert first.database_url == f"sqlite:///{tmp_path.resolve() / 'salesbridge-web.db'}"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert str(key_file) in caplog.text and "generated the web keys" in caplog.text
    assert set(json.loads(key_file.read_text())) == {"secret_key", "fernet_key"}
    second = resolve_settings(config, environ={})
    assert (second.secret_key, second.fernet_keys) == (first.secret_key, first.fernet_keys)


def test_keys_from_the_environment_win_and_several_fernet_keys_rotate(tmp_path: Path) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    environ = {SECRET_KEY_VARIABLE: "s" * 40, FERNET_KEY_VARIABLE: f"{new},{old}"}
    settings = resolve_settings(tmp_path / "salesbridge.yaml", environ=environ)
    assert settings.secret_key == "s" * 40 and settings.fernet_keys == (new, old)
    assert not (tmp_path / "salesbridge-web.db.keys").exists()
    with pytest.raises(KeysUnavailable, match="not a Fernet key"):
        resolve_settings(tmp_path / "salesbridge.yaml",
                         environ={SECRET_KEY_VARIABLE: "x", FERNET_KEY_VARIABLE: "no"})
    with pytest.raises(KeysUnavailable, match="no keys"):
        resolve_settings(tmp_path / "salesbridge.yaml", generate_keys=False, environ={})


def test_a_secret_stored_under_an_old_key_still_opens_after_rotation(tmp_path: Path) -> None:
    from salesbridge.web.vault import SecretBox

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    ciphertext = SecretBox([old]).encrypt("hunter22")
    assert SecretBox([new, old]).decrypt(ciphertext) == "hunter22"
    assert SecretBox([new, old]).encrypt("x") != SecretBox([old]).encrypt("x")


def test_the_first_admin_is_made_only_when_there_is_no_account(tmp_path: Path) -> None:
    accounts.use_password_hasher(CHEAP_HASHER)
    state = WebState(web_settings(tmp_path))
    try:
        assert bootstrap_admin(state, None, None) is False
        assert bootstrap_admin(state, "root", "a long password") is True
        assert bootstrap_admin(state, "other", "a long password") is False
        with state.session() as session:
            assert [(u.username, u.role) for u in accounts.list_users(session)] == [("root", "admin")]
        with TestClient(create_web_app(state.settings, state=state)) as client:
            assert client.post("/api/auth/login", json={"username": "root", "password": "a long password"}
                               ).status_code == 200
    finally:
        state.close()


def test_the_users_commands_manage_accounts_and_issue_working_tokens(tmp_path: Path) -> None:
    accounts.use_password_hasher(CHEAP_HASHER)
    settings = web_settings(tmp_path)
    runner = CliRunner()
    where = ["--database", settings.database_url]
    added = runner.invoke(cli_app, ["users", "add", "ops", "--role", "operator", *where],
                          input="a long password\na long password\n")
    assert added.exit_code == 0, added.output
    assert "added ops (operator)" in added.output
    assert runner.invoke(cli_app, ["users", "add", "ops", *where],
                         input="another one\nanother one\n").exit_code == 1
    assert runner.invoke(cli_app, ["users", "add", "x", "--role", "boss", *where]).exit_code == 2
    listed = runner.invoke(cli_app, ["users", "list", *where])
    assert "ops" in listed.output and "operator" in listed.output
    issued = runner.invoke(cli_app, ["users", "token", "ops", "--name", "cron", *where])
    assert issued.exit_code == 0
    token = issued.output.strip().splitlines()[-1]
    assert token.startswith("sbt_")
    assert runner.invoke(cli_app, ["users", "set-role", "ops", "viewer", *where]).exit_code == 0

    state = WebState(settings)
    try:
        with TestClient(create_web_app(settings, state=state)) as client:
            me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"}).json()
            assert me["user"]["username"] == "ops" and me["user"]["role"] == Role.VIEWER.value
            assert runner.invoke(cli_app, ["users", "disable", "ops", *where]).exit_code == 0
            assert client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    finally:
        state.close()
    assert runner.invoke(cli_app, ["users", "delete", "nobody", *where]).exit_code == 1
    assert runner.invoke(cli_app, ["users", "delete", "ops", *where]).exit_code == 0


def test_the_migrations_build_the_web_tables_exactly_as_the_models_describe(tmp_path: Path) -> None:
    engine = open_store(f"sqlite:///{tmp_path / 'web.db'}")
    try:
        migrate(engine)
        assert set(inspect(engine).get_table_names()) >= WEB_TABLES
        assert set(Base.metadata.tables) >= WEB_TABLES
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={
                "compare_type": True,
                "include_object": lambda obj, name, type_, reflected, other: (
                    type_ != "table" or name in WEB_TABLES),
            })
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_salesbridge_serve_runs_on_uvicorn_with_generated_keys_and_the_first_admin(tmp_path: Path) -> None:
    port = _free_port()
    environ = {name: value for name, value in os.environ.items()
               if name not in (SECRET_KEY_VARIABLE, FERNET_KEY_VARIABLE, "SALESBRIDGE_WEB_DATABASE")}
    environ["SALESBRIDGE_ADMIN_PASSWORD"] = "a long password"
    server = subprocess.Popen(
        [sys.executable, "-m", "salesbridge.cli", "serve", "-c", str(tmp_path / "salesbridge.yaml"), "--port",
         str(port), "--create-admin", "root"], env=environ, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                health = httpx.get(f"{base}/api/health", timeout=5)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stdout.read().decode() if server.stdout else ""
                assert time.monotonic() < deadline, "the server did not come up"
                time.sleep(0.2)
        assert health.json()["configured"] is False
        assert httpx.get(f"{base}/docs", timeout=5).status_code == 200
        assert httpx.get(f"{base}/openapi.json", timeout=5).json()["info"]["title"] == "salesbridge"
        login = httpx.post(f"{base}/api/auth/login", json={"username": "root", "password": "a long password"},
                           timeout=30)
        assert login.status_code == 200 and login.json()["user"]["role"] == "admin"
        key_file = tmp_path / "salesbridge-web.db.keys"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    finally:
        server.terminate()
        output = server.communicate(timeout=60)[0].decode()
    assert "generated the web keys" in output and "created the first admin account 'root'" in output


@pytest.mark.postgres
def test_the_web_database_may_be_postgresql(tmp_path: Path, postgres_url: str) -> None:
    accounts.use_password_hasher(CHEAP_HASHER)
    with isolated_schema(postgres_url, "sb_web") as (url, _schema):
        settings = replace(web_settings(tmp_path), database_url=url)
        state = WebState(settings)
        try:
            with TestClient(create_web_app(settings, state=state)) as client:
                with state.session() as session:
                    accounts.create_user(session, "root", "a long password", Role.ADMIN)
                login = client.post("/api/auth/login",
                                    json={"username": "root", "password": "a long password"})
                assert login.status_code == 200
                csrf = login.json()["csrf_token"]
                created = client.post("/api/users", json={"username": "eve", "password": "eve's password"},
                                      headers={"X-CSRF-Token": csrf})
                assert created.status_code == 201 and created.json()["role"] == "viewer"
                assert [u["username"] for u in client.get("/api/users").json()] == ["eve", "root"]
                assert client.get("/api/audit").json()[0]["details"] == {"user": "eve", "role": "viewer"}
        finally:
            state.close()
