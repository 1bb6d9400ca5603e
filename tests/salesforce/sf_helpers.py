"""Helpers shared by the Salesforce client's tests (imported by name: ``from sf_helpers import ...``)."""

from __future__ import annotations

from typing import Any

from salesbridge.salesforce import LoginSettings
from salesbridge.sandbox.server import RunningSandbox

ADMIN = "admin@sandbox.example"
PASSWORD = "sandbox-pass"
SECURITY_TOKEN = "sandboxtoken"


class RecordedSleeps(list[float]):
    """Stands in for time.sleep: remembers each wait."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def password_settings(sandbox: RunningSandbox, **overrides: Any) -> LoginSettings:
    values: dict[str, Any] = {
        "login_url": sandbox.url, "flow": "password", "client_id": "salesbridge",
        "client_secret": "salesbridge-secret", "username": ADMIN, "password": PASSWORD, "verify": sandbox.ca_path,
    }
    values.update(overrides)
    return LoginSettings(**values)


class Admin:
    """The sandbox's operator endpoints, called over HTTP as a test harness would (not counted as API calls)."""

    def __init__(self, sandbox: RunningSandbox) -> None:
        self.sandbox = sandbox

    def post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        _, token = self.sandbox.login()
        response = self.sandbox.http().post(f"{self.sandbox.url}/sandbox/admin/{path}", json=body or {},
                                            headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def faults(self, **settings: Any) -> dict[str, Any]:
        return self.post("faults", settings)

    def expire_sessions(self) -> None:
        self.post("expire-sessions")

    def settings(self, **settings: Any) -> dict[str, Any]:
        return self.post("settings", settings)
