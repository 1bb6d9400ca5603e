"""Logging in to an org: the OAuth 2.0 token endpoint (password, client credentials, JWT bearer, refresh token)
and SOAP ``login`` (username + password + security token, no connected app needed), against a configurable
login URL: ``https://login.salesforce.com``, ``https://test.salesforce.com``, a My Domain, or the sandbox.

``login(settings, session)`` answers a ``Token`` (access token + instance URL). The client hands these to
simple-salesforce, so the same code path serves a real org and the sandbox. Secrets never appear in reprs, logs
or error messages.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import jwt
import requests

from salesbridge.salesforce import _soap
from salesbridge.salesforce.errors import AuthenticationError, TransientError

log = logging.getLogger(__name__)

Flow = Literal["password", "client_credentials", "jwt", "soap", "refresh_token", "session"]
FLOWS: tuple[str, ...] = ("password", "client_credentials", "jwt", "soap", "refresh_token", "session")
#: What each flow needs besides ``login_url``.
REQUIRED: dict[str, tuple[str, ...]] = {
    "password": ("client_id", "client_secret", "username", "password"),
    "client_credentials": ("client_id", "client_secret"),
    "jwt": ("client_id", "username", "private_key"),
    "soap": ("username", "password"),
    "refresh_token": ("client_id", "refresh_token"),
    "session": ("access_token", "instance_url"),
}
_SECRETS = frozenset({"client_secret", "password", "security_token", "private_key", "refresh_token",
                      "access_token"})
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
#: Salesforce wants the assertion to expire within 3 minutes.
JWT_LIFETIME_SECONDS = 180
DEFAULT_TIMEOUT_SECONDS = 60.0


@dataclass
class LoginSettings:
    """How to log in to one org.

    ``flow`` picks the method: ``password`` (OAuth username-password; the security token is appended to the
    password when given), ``client_credentials``, ``jwt`` (JWT bearer signed with ``private_key``, PEM text or a
    file path; ``audience`` defaults to ``login_url``), ``soap`` (partner API login, no connected app),
    ``refresh_token`` (a refresh token you already have), ``session`` (an access token and instance URL you
    already have). ``verify`` is passed to requests: True, False, or a CA bundle path (the sandbox's
    certificate).
    """

    login_url: str = "https://login.salesforce.com"
    flow: Flow = "password"
    client_id: str | None = None
    client_secret: str | None = None
    username: str | None = None
    password: str | None = None
    security_token: str | None = None
    private_key: str | None = None
    audience: str | None = None
    refresh_token: str | None = None
    access_token: str | None = None
    instance_url: str | None = None
    verify: bool | str = True
    timeout: float = DEFAULT_TIMEOUT_SECONDS

    def __post_init__(self) -> None:
        self.login_url = self.login_url.rstrip("/")
        if self.flow not in FLOWS:
            raise ValueError(f"unknown login flow {self.flow!r} (known: {', '.join(FLOWS)})")
        missing = [name for name in REQUIRED[self.flow] if getattr(self, name) in (None, "")]
        if missing:
            raise ValueError(f"login flow '{self.flow}' needs {', '.join(missing)}")

    def __repr__(self) -> str:
        shown = []
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name in _SECRETS and value is not None:
                value = "***"
            shown.append(f"{item.name}={value!r}")
        return f"LoginSettings({', '.join(shown)})"

    __str__ = __repr__


@dataclass(frozen=True)
class Token:
    """A session: what the REST API needs (access token and instance URL) and what renews it."""

    access_token: str
    instance_url: str
    refresh_token: str | None = None
    issued_at: datetime | None = None
    identity_url: str | None = None

    def __repr__(self) -> str:
        return (f"Token(access_token='***', instance_url={self.instance_url!r}, "
                f"refresh_token={'***' if self.refresh_token else None}, issued_at={self.issued_at!r})")


def login(settings: LoginSettings, session: requests.Session, *, api_version: str = "62.0") -> Token:
    """Log in with the configured flow. Raises AuthenticationError when the org refuses, TransientError when it
    cannot be reached or answers 5xx."""
    if settings.flow == "session":
        assert settings.access_token and settings.instance_url
        return Token(settings.access_token, settings.instance_url.rstrip("/"), settings.refresh_token)
    if settings.flow == "soap":
        return soap_login(settings, session, api_version=api_version)
    if settings.flow == "refresh_token":
        assert settings.refresh_token
        return refresh(settings, session, settings.refresh_token)
    return _token_request(settings, session, _grant(settings))


def refresh(settings: LoginSettings, session: requests.Session, refresh_token: str) -> Token:
    """A new access token for a refresh token (the refresh token itself stays the same)."""
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": settings.client_id or ""}
    if settings.client_secret:
        form["client_secret"] = settings.client_secret
    token = _token_request(settings, session, form)
    if token.refresh_token is None:
        token = Token(token.access_token, token.instance_url, refresh_token, token.issued_at, token.identity_url)
    return token


def _grant(settings: LoginSettings) -> dict[str, str]:
    """The token request's form for the password, client credentials and JWT bearer flows."""
    if settings.flow == "password":
        return {"grant_type": "password", "client_id": settings.client_id or "",
                "client_secret": settings.client_secret or "", "username": settings.username or "",
                "password": (settings.password or "") + (settings.security_token or "")}
    if settings.flow == "client_credentials":
        return {"grant_type": "client_credentials", "client_id": settings.client_id or "",
                "client_secret": settings.client_secret or ""}
    return {"grant_type": JWT_BEARER, "assertion": jwt_assertion(settings)}


def jwt_assertion(settings: LoginSettings, now: float | None = None) -> str:
    """The signed JWT for the bearer flow: iss = consumer key, sub = username, aud = login URL, exp = +3 min."""
    issued = time.time() if now is None else now
    claims = {"iss": settings.client_id, "sub": settings.username,
              "aud": (settings.audience or settings.login_url).rstrip("/"),
              "exp": int(issued) + JWT_LIFETIME_SECONDS}
    return jwt.encode(claims, _private_key_pem(settings.private_key or ""), algorithm="RS256")


def _private_key_pem(value: str) -> str:
    """PEM text as given, or the content of the file it names."""
    if "-----BEGIN" in value:
        return value
    path = Path(value).expanduser()
    try:
        return path.read_text()
    except OSError as error:
        raise AuthenticationError("INVALID_PRIVATE_KEY", f"cannot read the JWT private key file {path}: "
                                  f"{error.strerror}") from None


def _post(session: requests.Session, url: str, settings: LoginSettings, **kwargs: Any) -> requests.Response:
    try:
        response = session.post(url, verify=settings.verify, timeout=settings.timeout, **kwargs)
    except requests.RequestException as error:
        raise TransientError("CONNECTION_ERROR", f"cannot reach {url}: {type(error).__name__}: {error}",
                             may_have_succeeded=not isinstance(error, requests.ConnectTimeout)) from None
    if response.status_code in (500, 502, 503, 504) and "xml" not in response.headers.get("Content-Type", ""):
        raise TransientError(f"HTTP_{response.status_code}", f"{url} answered {response.status_code}",
                             status=response.status_code)
    return response


def _token_request(settings: LoginSettings, session: requests.Session, form: dict[str, str]) -> Token:
    url = f"{settings.login_url}/services/oauth2/token"
    response = _post(session, url, settings, data=form, headers={"Accept": "application/json"})
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 200 or not isinstance(body, dict) or "access_token" not in body:
        error = body.get("error") if isinstance(body, dict) else None
        description = body.get("error_description") if isinstance(body, dict) else None
        raise AuthenticationError(str(error or f"HTTP_{response.status_code}"),
                                  str(description or response.text[:200] or "login refused"),
                                  status=response.status_code)
    log.info("logged in to %s (flow %s)", body.get("instance_url"), settings.flow)
    return Token(body["access_token"], str(body.get("instance_url") or settings.login_url).rstrip("/"),
                 body.get("refresh_token"), _issued_at(body.get("issued_at")), body.get("id"))


def _issued_at(value: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    except (TypeError, ValueError):
        return datetime.now(UTC)


def soap_login(settings: LoginSettings, session: requests.Session, *, api_version: str = "62.0") -> Token:
    """Partner API ``login``: the password followed by the security token, no connected app."""
    url = _soap.soap_url(settings.login_url, api_version)
    password = (settings.password or "") + (settings.security_token or "")
    body = _soap.envelope(_soap.login_body(settings.username or "", password))
    response = _post(session, url, settings, data=body.encode(), headers=_soap.request_headers("login"))
    try:
        root = _soap.parse(response.content)
    except ValueError as error:
        raise AuthenticationError(f"HTTP_{response.status_code}", str(error), status=response.status_code) from None
    fault = _soap.fault_of(root)
    if fault is not None:
        raise AuthenticationError(fault.code, fault.message, status=response.status_code)
    result = _soap.find(root, "result")
    session_id = _soap.child_text(result, "sessionId") if result is not None else None
    server_url = _soap.child_text(result, "serverUrl") if result is not None else None
    if result is None or not session_id or not server_url:
        raise AuthenticationError("INVALID_LOGIN_RESPONSE", "the login answer has no sessionId/serverUrl",
                                  status=response.status_code)
    if (_soap.child_text(result, "passwordExpired") or "").lower() == "true":
        raise AuthenticationError("PASSWORD_EXPIRED", "the user's password has expired; set a new one first")
    log.info("logged in to %s by SOAP", server_url)
    return Token(session_id, instance_url_of(server_url), issued_at=datetime.now(UTC))


def instance_url_of(server_url: str) -> str:
    """``https://host[:port]`` of a SOAP serverUrl; old ``na1-api`` style hosts lose the ``-api``."""
    parts = urlsplit(server_url)
    first, dot, rest = (parts.hostname or "").partition(".")
    host = first.removesuffix("-api") + dot + rest
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme or 'https'}://{host}{port}"
