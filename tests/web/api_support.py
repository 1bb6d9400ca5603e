"""Helpers for the REST API tests: a web app on a temporary directory, accounts of each role, a hub config
against a sandbox org, and a client that keeps every answer so that tests can check no secret ever left the
server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from argon2 import PasswordHasher
from cryptography.fernet import Fernet
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, text

from salesbridge.sandbox.server import RunningSandbox
from salesbridge.store.web_models import Role
from salesbridge.web import accounts
from salesbridge.web.app import create_web_app
from salesbridge.web.settings import WebSettings
from salesbridge.web.state import WebState

#: argon2 with small costs: the tests log in often; the parameters live in each hash, so nothing else changes.
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PASSWORD = "correct horse battery"
#: The sandbox's seeded credentials; they are written literally into the test config and must never come back.
SF_CLIENT_SECRET = "salesbridge-secret"
SF_PASSWORD = "sandbox-pass"
PIPELINE = {"New": "Open - Not Contacted", "Qualified": "Working - Contacted", "Won": "Closed - Converted",
            "Lost": "Closed - Not Converted"}


class RecordingClient(TestClient):
    """A TestClient that keeps the text of every answer."""

    def __init__(self, app: FastAPI, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.answers: list[str] = []

    def request(self, *args: Any, **kwargs: Any) -> httpx.Response:  # type: ignore[override]
        response = super().request(*args, **kwargs)
        self.answers.append(f"{response.headers}\n{response.text}")
        return response

    def assert_never_sent(self, *secrets: str) -> None:
        for answer in self.answers:
            for secret in secrets:
                assert secret not in answer, f"a secret was sent back: {answer[:300]}"


@dataclass
class WebSetup:
    tmp: Path
    app: FastAPI
    state: WebState
    client: RecordingClient
    tokens: dict[Role, str] = field(default_factory=dict)
    app_url: str = ""

    @property
    def config_path(self) -> Path:
        return self.state.settings.config_path

    def add_user(self, username: str, role: Role, password: str = PASSWORD) -> int:
        with self.state.session() as session:
            return accounts.create_user(session, username, password, role).id

    def token(self, role: Role) -> str:
        """An API token of a user with ``role`` (made on first use)."""
        if role not in self.tokens:
            with self.state.session() as session:
                user = accounts.create_user(session, f"{role.value}-user", PASSWORD, role)
                self.tokens[role] = accounts.create_token(session, user, "tests").text
        return self.tokens[role]

    def as_role(self, role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role)}"}

    def login(self, client: TestClient, username: str, password: str = PASSWORD) -> str:
        """Log ``client`` in with a session cookie; returns the CSRF token."""
        response = client.post("/api/auth/login", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        return response.json()["csrf_token"]

    def wait_for_run(self, run_id: int, role: Role = Role.VIEWER, timeout: float = 120.0) -> dict[str, Any]:
        """Poll the run as the dashboard does until it is no longer running."""
        deadline = time.monotonic() + timeout
        while True:
            answer = self.client.get(f"/api/runs/{run_id}", headers=self.as_role(role))
            assert answer.status_code == 200, answer.text
            if answer.json()["status"] != "running":
                return answer.json()
            assert time.monotonic() < deadline, f"run {run_id} still running"
            time.sleep(0.05)


def web_settings(tmp: Path) -> WebSettings:
    return WebSettings(config_path=tmp / "salesbridge.yaml", database_url=f"sqlite:///{tmp / 'web.db'}",
                       secret_key="test-secret-key-" + "x" * 32,
                       fernet_keys=(Fernet.generate_key().decode(),))


@contextmanager
def web_setup(tmp: Path) -> Iterator[WebSetup]:
    accounts.use_password_hasher(CHEAP_HASHER)
    settings = web_settings(tmp)
    state = WebState(settings)
    app = create_web_app(settings, state=state)
    with RecordingClient(app) as client:
        yield WebSetup(tmp, app, state, client)


def create_leads_table(url: str) -> None:
    engine = create_engine(url)
    metadata = MetaData()
    Table("leads", metadata,
          Column("id", Integer, primary_key=True, autoincrement=True),
          Column("first_name", String(40)),
          Column("last_name", String(80), nullable=False),
          Column("company", String(255), nullable=False),
          Column("email", String(80)),
          Column("stage", String(40), nullable=False, server_default="New"),
          Column("sf_id", String(18)))
    metadata.create_all(engine)
    engine.dispose()


def app_exec(url: str, sql: str, **params: Any) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(sql), params)
    engine.dispose()


def connections(org: RunningSandbox, app_url: str) -> dict[str, Any]:
    """A config's ``connections`` to the sandbox org as its admin, and to the app database; the Salesforce
    secrets are literals (masked on export)."""
    return {"connections": {
        "salesforce": {"login_url": org.url, "client_id": "salesbridge", "client_secret": SF_CLIENT_SECRET,
                       "username": "admin@sandbox.example", "password": SF_PASSWORD, "verify": str(org.ca_path)},
        "app": {"url": app_url}}}


def write_config(setup: WebSetup, config: dict[str, Any]) -> None:
    """Make ``config`` the web app's config file."""
    setup.config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")


def hub_config_data(org: RunningSandbox, app_url: str) -> dict[str, Any]:
    """A two-way Lead flow against the sandbox."""
    return {
        **connections(org, app_url),
        "flows": [{
            "name": "leads", "salesforce": "Lead", "table": "leads", "direction": "both",
            "key": {"salesforce_id_column": "sf_id"},
            "fields": {"FirstName": "first_name", "LastName": "last_name", "Company": "company",
                       "Email": "email", "Status": {"app": "stage", "values": "pipeline"}},
        }],
        "value_maps": {"pipeline": PIPELINE},
    }


def write_hub_config(setup: WebSetup, org: RunningSandbox) -> str:
    """Write the config file and the app's leads table; returns the app database URL."""
    app_url = f"sqlite:///{setup.tmp / 'app.db'}"
    create_leads_table(app_url)
    setup.app_url = app_url
    setup.config_path.write_text(yaml.safe_dump(hub_config_data(org, app_url), sort_keys=False),
                                 encoding="utf-8")
    return app_url
