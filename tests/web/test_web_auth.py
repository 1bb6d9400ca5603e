"""Authentication and authorization of the REST API: every endpoint refuses anonymous callers (401) and
callers whose role is too small (403); sessions need the CSRF token for changes; tokens are shown once and
stored hashed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from api_support import PASSWORD, RecordingClient, WebSetup, web_setup
from sqlalchemy import select, update

from salesbridge.store.models import utcnow
from salesbridge.store.web_models import ApiToken, Role, User, WebSession
from salesbridge.web import accounts
from salesbridge.web.auth import CSRF_COOKIE, SESSION_COOKIE
from salesbridge.web.throttle import LoginThrottle

PUBLIC = {("GET", "/api/health"), ("POST", "/api/auth/login")}
#: The smallest role each endpoint needs. A new endpoint must be added here, or the first test fails.
NEEDS: dict[tuple[str, str], Role] = {
    ("GET", "/api/auth/me"): Role.VIEWER,
    ("POST", "/api/auth/logout"): Role.VIEWER,
    ("POST", "/api/auth/password"): Role.VIEWER,
    ("GET", "/api/auth/tokens"): Role.VIEWER,
    ("POST", "/api/auth/tokens"): Role.VIEWER,
    ("DELETE", "/api/auth/tokens/{token_id}"): Role.VIEWER,
    ("GET", "/api/flows"): Role.VIEWER,
    ("GET", "/api/flows/{name}"): Role.VIEWER,
    ("GET", "/api/runs"): Role.VIEWER,
    ("GET", "/api/runs/active"): Role.VIEWER,
    ("GET", "/api/runs/{run_id}"): Role.VIEWER,
    ("GET", "/api/errors"): Role.VIEWER,
    ("GET", "/api/errors/{error_id}"): Role.VIEWER,
    ("GET", "/api/conflicts"): Role.VIEWER,
    ("GET", "/api/records/{flow}"): Role.VIEWER,
    ("GET", "/api/records/{flow}/links"): Role.VIEWER,
    ("GET", "/api/budget"): Role.VIEWER,
    ("POST", "/api/runs"): Role.OPERATOR,
    ("POST", "/api/errors/retry"): Role.OPERATOR,
    ("POST", "/api/errors/{error_id}/retry"): Role.OPERATOR,
    ("POST", "/api/errors/{error_id}/ignore"): Role.OPERATOR,
    ("POST", "/api/records/{flow}/sync"): Role.OPERATOR,
    ("GET", "/api/flows/{name}/config"): Role.ADMIN,
    ("PUT", "/api/flows/{name}"): Role.ADMIN,
    ("DELETE", "/api/flows/{name}"): Role.ADMIN,
    ("GET", "/api/users"): Role.ADMIN,
    ("POST", "/api/users"): Role.ADMIN,
    ("GET", "/api/users/{user_id}"): Role.ADMIN,
    ("PATCH", "/api/users/{user_id}"): Role.ADMIN,
    ("DELETE", "/api/users/{user_id}"): Role.ADMIN,
    ("GET", "/api/audit"): Role.ADMIN,
    ("GET", "/api/config"): Role.ADMIN,
    ("PUT", "/api/config"): Role.ADMIN,
    ("POST", "/api/config/validate"): Role.ADMIN,
    ("GET", "/api/connections"): Role.ADMIN,
    ("PUT", "/api/connections/salesforce"): Role.ADMIN,
    ("PUT", "/api/connections/app"): Role.ADMIN,
    ("POST", "/api/connections/salesforce/test"): Role.ADMIN,
    ("GET", "/api/mail"): Role.ADMIN,
    ("PUT", "/api/mail"): Role.ADMIN,
    ("DELETE", "/api/mail"): Role.ADMIN,
    ("GET", "/api/contacts"): Role.ADMIN,
    ("PUT", "/api/contacts"): Role.ADMIN,
    ("DELETE", "/api/contacts"): Role.ADMIN,
    ("GET", "/api/deals"): Role.VIEWER,
    ("GET", "/api/deals/{deal_id}"): Role.VIEWER,
    ("POST", "/api/deals"): Role.OPERATOR,
    ("PUT", "/api/deals/{deal_id}/status"): Role.OPERATOR,
    ("POST", "/api/deals/{deal_id}/sync"): Role.OPERATOR,
    ("POST", "/api/deals/import"): Role.OPERATOR,
    ("GET", "/api/contracts"): Role.VIEWER,
    ("GET", "/api/contracts/queue"): Role.VIEWER,
    ("GET", "/api/contracts/{request_id}"): Role.VIEWER,
    ("GET", "/api/contracts/{request_id}/documents/{document_id}"): Role.VIEWER,
    ("POST", "/api/contracts/run"): Role.OPERATOR,
    ("POST", "/api/contracts/{request_id}/approve"): Role.OPERATOR,
    ("POST", "/api/contracts/{request_id}/reject"): Role.OPERATOR,
    ("POST", "/api/contracts/{request_id}/signature"): Role.OPERATOR,
    ("POST", "/api/contracts/{request_id}/signed"): Role.OPERATOR,
    ("POST", "/api/renewals/subscriptions"): Role.OPERATOR,
    ("GET", "/api/renewals/subscriptions"): Role.VIEWER,
    ("GET", "/api/renewals/subscriptions/{subscription_id}"): Role.VIEWER,
    ("PUT", "/api/renewals/subscriptions/{subscription_id}/account"): Role.OPERATOR,
    ("POST", "/api/renewals/change-orders"): Role.OPERATOR,
    ("GET", "/api/renewals/change-orders"): Role.VIEWER,
    ("GET", "/api/renewals/change-orders/{change_order_id}"): Role.VIEWER,
    ("GET", "/api/renewals/sales-orders"): Role.VIEWER,
    ("GET", "/api/renewals/sales-orders/{sales_order_id}"): Role.VIEWER,
    ("PATCH", "/api/renewals/sales-orders/{sales_order_id}"): Role.OPERATOR,
    ("POST", "/api/renewals/sync"): Role.OPERATOR,
    ("GET", "/api/pipeline/events"): Role.VIEWER,
    ("GET", "/api/pipeline/errors"): Role.VIEWER,
    ("GET", "/api/pipeline/{kind}"): Role.VIEWER,
    ("GET", "/api/pipeline/{kind}/{record_id}"): Role.VIEWER,
    ("POST", "/api/pipeline/{kind}"): Role.OPERATOR,
    ("PATCH", "/api/pipeline/{kind}/{record_id}"): Role.OPERATOR,
    ("DELETE", "/api/pipeline/{kind}/{record_id}"): Role.OPERATOR,
    ("POST", "/api/pipeline/sync"): Role.OPERATOR,
}


@pytest.fixture
def web(tmp_path: Path) -> Iterator[WebSetup]:
    with web_setup(tmp_path) as setup:
        yield setup


def concrete(path: str) -> str:
    """A path template with its parameters filled in (``{name}`` -> leads, ids -> 1)."""
    return re.sub(r"\{(\w+)\}", lambda m: "1" if m.group(1).endswith("id") else "leads", path)


def call(client: RecordingClient, method: str, path: str,
         headers: dict[str, str] | None = None):  # noqa: ANN201
    body = None if method in ("GET", "DELETE") else {}
    return client.request(method, concrete(path), json=body, headers=headers or {})


def test_every_api_operation_is_classified(web: WebSetup) -> None:
    paths = web.client.get("/openapi.json").json()["paths"]
    operations = {(method.upper(), path) for path, item in paths.items() for method in item
                  if path.startswith("/api")}
    assert operations == set(NEEDS) | PUBLIC


@pytest.mark.parametrize(("method", "path"), sorted(NEEDS))
def test_anonymous_callers_get_401(web: WebSetup, method: str, path: str) -> None:
    answer = call(web.client, method, path)
    assert answer.status_code == 401, answer.text
    assert answer.headers["www-authenticate"] == "Bearer"
    assert "authentication required" in answer.json()["detail"]


def test_too_small_a_role_gets_403_naming_the_role_needed(web: WebSetup) -> None:
    checked = 0
    for (method, path), needed in sorted(NEEDS.items()):
        for role in Role:
            if role.includes(needed):
                continue
            answer = call(web.client, method, path, web.as_role(role))
            assert answer.status_code == 403, (method, path, role, answer.text)
            assert answer.json()["detail"] == f"this needs the {needed.value} role; you are {role.value}"
            checked += 1
    smaller_roles = {Role.VIEWER: 0, Role.OPERATOR: 1, Role.ADMIN: 2}
    assert checked == sum(smaller_roles[needed] for needed in NEEDS.values())


def test_a_viewer_cannot_change_settings_and_the_file_stays_untouched(web: WebSetup) -> None:
    web.config_path.write_text("flows: []\n", encoding="utf-8")
    answer = web.client.put("/api/config", json={"yaml": "connections: {}\n"},
                            headers=web.as_role(Role.VIEWER))
    assert answer.status_code == 403
    assert web.config_path.read_text(encoding="utf-8") == "flows: []\n"


def test_invalid_malformed_and_revoked_tokens_are_401(web: WebSetup) -> None:
    for header in ("Bearer sbt_not-a-token", "Basic YWRtaW46eA==", "Bearer "):
        answer = web.client.get("/api/auth/me", headers={"Authorization": header})
        assert answer.status_code == 401, header
    token = web.token(Role.ADMIN)
    headers = {"Authorization": f"Bearer {token}"}
    mine = web.client.get("/api/auth/tokens", headers=headers).json()
    assert [t["name"] for t in mine] == ["tests"]
    assert web.client.delete(f"/api/auth/tokens/{mine[0]['id']}", headers=headers).status_code == 204
    assert web.client.get("/api/auth/me", headers=headers).status_code == 401


def test_a_bad_token_is_refused_even_with_a_valid_session_cookie(web: WebSetup) -> None:
    web.add_user("ann", Role.ADMIN)
    web.login(web.client, "ann")
    assert web.client.get("/api/auth/me").status_code == 200
    assert web.client.get("/api/auth/me", headers={"Authorization": "Bearer sbt_wrong"}).status_code == 401


def test_expired_tokens_stop_working(web: WebSetup) -> None:
    headers = web.as_role(Role.VIEWER)
    assert web.client.get("/api/auth/me", headers=headers).status_code == 200
    with web.state.session() as session:
        session.execute(update(ApiToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert web.client.get("/api/auth/me", headers=headers).status_code == 401


def test_tokens_are_shown_once_and_stored_as_digests(web: WebSetup) -> None:
    headers = web.as_role(Role.OPERATOR)
    created = web.client.post("/api/auth/tokens", json={"name": "ci", "expires_in_days": 30}, headers=headers)
    assert created.status_code == 201
    token = created.json()["token"]
    assert token.startswith("sbt_") and created.json()["prefix"] == token[:10]
    listed = web.client.get("/api/auth/tokens", headers=headers).text
    assert token not in listed and "ci" in listed
    with web.state.session() as session:
        stored = list(session.scalars(select(ApiToken.token_hash)))
    assert token not in stored and all(len(digest) == 64 for digest in stored)
    me = web.client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["user"]["role"] == "operator" and me["auth"] == "token" and me["csrf_token"] is None


def test_login_sets_an_http_only_session_cookie_and_wrong_passwords_get_401(web: WebSetup) -> None:
    web.add_user("ann", Role.VIEWER)
    for username, password in (("ann", "wrong password"), ("nobody", PASSWORD)):
        answer = web.client.post("/api/auth/login", json={"username": username, "password": password})
        assert answer.status_code == 401
        assert answer.json()["detail"] == "wrong username or password"
    answer = web.client.post("/api/auth/login", json={"username": "ANN", "password": PASSWORD})
    assert answer.status_code == 200
    cookies = answer.headers.get_list("set-cookie")
    session_cookie = next(c for c in cookies if c.startswith(f"{SESSION_COOKIE}="))
    assert "HttpOnly" in session_cookie and "SameSite=lax" in session_cookie
    csrf_cookie = next(c for c in cookies if c.startswith(f"{CSRF_COOKIE}="))
    assert "HttpOnly" not in csrf_cookie and answer.json()["csrf_token"] in csrf_cookie
    me = web.client.get("/api/auth/me").json()
    assert me["auth"] == "session" and me["csrf_token"] == answer.json()["csrf_token"]
    with web.state.session() as session:
        stored_ids = list(session.scalars(select(WebSession.id)))
        password_hash = session.scalar(select(User.password_hash).where(User.username == "ann"))
    assert web.client.cookies[SESSION_COOKIE] not in stored_ids
    assert password_hash.startswith("$argon2id$") and PASSWORD not in password_hash


def test_session_changes_need_the_csrf_token(web: WebSetup) -> None:
    web.add_user("ann", Role.ADMIN)
    csrf = web.login(web.client, "ann")
    body = {"name": "from-browser"}
    missing = web.client.post("/api/auth/tokens", json=body)
    assert missing.status_code == 403 and "CSRF token missing or wrong" in missing.json()["detail"]
    wrong = web.client.post("/api/auth/tokens", json=body, headers={"X-CSRF-Token": csrf[:-2] + "xx"})
    assert wrong.status_code == 403
    assert web.client.get("/api/auth/tokens").json() == []
    assert web.client.post("/api/auth/tokens", json=body, headers={"X-CSRF-Token": csrf}).status_code == 201
    # A form post (the admin pages) may carry it as a field instead of a header.
    assert web.client.post("/api/auth/logout", data={"csrf_token": "nope"}).status_code == 403
    assert web.client.post("/api/auth/logout", data={"csrf_token": csrf}).status_code == 204


def test_a_csrf_token_belongs_to_its_session(web: WebSetup) -> None:
    web.add_user("ann", Role.ADMIN)
    first = web.login(web.client, "ann")
    with RecordingClient(web.app) as other:
        second = web.login(other, "ann")
        assert first != second
        assert other.post("/api/auth/tokens", json={"name": "x"},
                          headers={"X-CSRF-Token": first}).status_code == 403


def test_api_tokens_need_no_csrf_token(web: WebSetup) -> None:
    answer = web.client.post("/api/auth/tokens", json={"name": "script"}, headers=web.as_role(Role.VIEWER))
    assert answer.status_code == 201


def test_logout_ends_the_session_on_the_server(web: WebSetup) -> None:
    web.add_user("ann", Role.VIEWER)
    csrf = web.login(web.client, "ann")
    cookie = web.client.cookies[SESSION_COOKIE]
    assert web.client.post("/api/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    with RecordingClient(web.app, cookies={SESSION_COOKIE: cookie}) as replay:
        assert replay.get("/api/auth/me").status_code == 401


def test_changing_my_password_ends_my_other_sessions(web: WebSetup) -> None:
    web.add_user("ann", Role.VIEWER)
    with RecordingClient(web.app) as elsewhere:
        web.login(elsewhere, "ann")
        csrf = web.login(web.client, "ann")
        wrong = web.client.post("/api/auth/password",
                                json={"current_password": "nope", "new_password": "n" * 12},
                                headers={"X-CSRF-Token": csrf})
        assert wrong.status_code == 400
        changed = web.client.post("/api/auth/password", json={"current_password": PASSWORD,
                                                              "new_password": "a new long password"},
                                  headers={"X-CSRF-Token": csrf})
        assert changed.status_code == 204
        assert elsewhere.get("/api/auth/me").status_code == 401
        assert web.client.get("/api/auth/me").status_code == 200  # this browser got a new session
    assert web.client.post("/api/auth/login",
                           json={"username": "ann", "password": PASSWORD}).status_code == 401
    web.login(web.client, "ann", "a new long password")


def test_admins_manage_accounts_but_never_remove_the_last_admin(web: WebSetup) -> None:
    admin = web.as_role(Role.ADMIN)
    created = web.client.post("/api/users", json={"username": "bob", "password": "bob's password",
                                                   "role": "operator"}, headers=admin)
    assert created.status_code == 201 and created.json()["role"] == "operator"
    bob = created.json()["id"]
    duplicate = web.client.post("/api/users", json={"username": "BOB", "password": "whatever1"},
                                headers=admin)
    assert duplicate.status_code == 409 and "already exists" in duplicate.json()["detail"]
    assert web.client.post("/api/users", json={"username": "x", "password": "short"},
                           headers=admin).status_code \
        == 422
    users = {u["username"]: u for u in web.client.get("/api/users", headers=admin).json()}
    assert set(users) == {"admin-user", "bob"}
    me = users["admin-user"]["id"]
    assert web.client.delete(f"/api/users/{me}", headers=admin).status_code == 409
    demote = web.client.patch(f"/api/users/{me}", json={"role": "viewer"}, headers=admin)
    assert demote.status_code == 409 and "last active admin" in demote.json()["detail"]
    assert web.client.patch(f"/api/users/{bob}", json={"role": "admin"},
                            headers=admin).json()["role"] == "admin"
    assert web.client.get("/api/users/999", headers=admin).status_code == 404
    audit = web.client.get("/api/audit", headers=admin).json()
    assert [entry["action"] for entry in audit][:2] == ["user.update", "user.create"]


def test_disabling_a_user_ends_their_sessions_and_tokens(web: WebSetup) -> None:
    bob = web.add_user("bob", Role.OPERATOR)
    with web.state.session() as session:
        user = session.get(User, bob)
        assert user is not None
        bobs_token = {"Authorization": f"Bearer {accounts.create_token(session, user, 'cron').text}"}
    with RecordingClient(web.app) as browser:
        web.login(browser, "bob")
        assert browser.get("/api/auth/me").status_code == 200
        assert web.client.get("/api/auth/me", headers=bobs_token).status_code == 200
        answer = web.client.patch(f"/api/users/{bob}", json={"active": False},
                                  headers=web.as_role(Role.ADMIN))
        assert answer.status_code == 200 and answer.json()["active"] is False
        assert browser.get("/api/auth/me").status_code == 401
    assert web.client.get("/api/auth/me", headers=bobs_token).status_code == 401
    assert web.client.post("/api/auth/login",
                           json={"username": "bob", "password": PASSWORD}).status_code == 401


def test_repeated_failed_logins_are_slowed_down_per_name_and_address(web: WebSetup) -> None:
    web.add_user("ann", Role.VIEWER)
    web.state.login_throttle = LoginThrottle(max_failures=3)
    for _ in range(3):
        assert web.client.post("/api/auth/login",
                               json={"username": "ann", "password": "guess"}).status_code == 401
    blocked = web.client.post("/api/auth/login", json={"username": "ann", "password": PASSWORD})
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
    web.add_user("bob", Role.VIEWER)
    web.login(web.client, "bob")  # another name is not affected


def test_the_login_throttle_forgets_after_the_lockout() -> None:
    now = [1000.0]
    throttle = LoginThrottle(max_failures=2, window=60, lockout=30, clock=lambda: now[0])
    throttle.failed("Ann", "10.0.0.1")
    throttle.failed("ann", "10.0.0.1")
    assert throttle.retry_after("ANN", "10.0.0.1") == 30
    assert throttle.retry_after("ann", "10.0.0.2") == 0
    now[0] += 31
    assert throttle.retry_after("ann", "10.0.0.1") == 0
    throttle.failed("ann", "10.0.0.1")
    throttle.succeeded("ann", "10.0.0.1")
    throttle.failed("ann", "10.0.0.1")
    assert throttle.retry_after("ann", "10.0.0.1") == 0
