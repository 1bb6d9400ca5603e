"""OAuth 2.0 endpoints: token (password, client credentials, refresh token, JWT bearer), userinfo, revoke.

Answers and errors have Salesforce's shapes: a token answer carries access_token, instance_url (this server's
own URL, as the client reached it), id (the identity URL), token_type, issued_at (ms epoch, a string),
signature (base64 HMAC-SHA256 of id + issued_at keyed by the client secret) and scope; errors are HTTP 400
``{"error": ..., "error_description": ...}``.

Refresh tokens: Salesforce issues none to the username-password, client credentials and JWT bearer flows. The
sandbox does the same, except for connected apps configured with ``issue_refresh_token: true`` (the seeded app
``salesbridge-refresh``), whose password grant also answers a refresh token, so that clients can test
their refresh path without an interactive flow.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from salesbridge.sandbox.auth import Session
from salesbridge.sandbox.http import OrgDep, UserDep
from salesbridge.sandbox.org import ConnectedAppSettings, Org

router = APIRouter()

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
#: Audiences Salesforce accepts in a JWT bearer assertion; the sandbox's own URL is accepted too.
LOGIN_AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")


class OAuthError(Exception):
    """An OAuth error answer (HTTP 400 unless told otherwise)."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status

    def response(self) -> JSONResponse:
        return JSONResponse({"error": self.error, "error_description": self.description},
                            status_code=self.status, headers={"Cache-Control": "no-cache,must-revalidate,no-store"})


def _bad_login() -> OAuthError:
    return OAuthError("invalid_grant", "authentication failure")


async def _params(request: Request) -> dict[str, str]:
    """Form fields merged over query parameters (Salesforce accepts both)."""
    params = {key: value for key, value in request.query_params.items()}
    if request.method == "POST":
        form = await request.form()
        params.update({key: value for key, value in form.items() if isinstance(value, str)})
    return params


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, _, secret = base64.b64decode(encoded.strip()).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        raise OAuthError("invalid_client", "invalid client credentials") from None
    return client_id, secret


def _client(org: Org, client_id: str | None, client_secret: str | None, *,
            secret_required: bool = True) -> ConnectedAppSettings:
    """The connected app authenticated by id (and secret), or Salesforce's error for the part that failed."""
    app = org.settings.connected_app(client_id or "")
    if app is None:
        raise OAuthError("invalid_client_id", "client identifier invalid")
    if (secret_required or client_secret is not None) and not hmac.compare_digest(
            (client_secret or "").encode(), app.client_secret.encode()):
        raise OAuthError("invalid_client", "invalid client credentials")
    return app


def _active_user_id(org: Org, username: str) -> str | None:
    user = org.settings.user(username)
    record = org.user_record(username)
    if user is None or record is None or not user.active:
        return None
    return record["Id"]


def identity_url(base_url: str, org: Org, user_id: str) -> str:
    return f"{base_url}/id/{org.organization_id}/{user_id}"


def token_answer(org: Org, base_url: str, session: Session, app: ConnectedAppSettings | None,
                 refresh_token: str | None = None) -> dict[str, Any]:
    issued_at = str(int(session.issued_at * 1000))
    identity = identity_url(base_url, org, session.user_id)
    key = (app.client_secret if app else "").encode()
    signature = base64.b64encode(hmac.new(key, (identity + issued_at).encode(), hashlib.sha256).digest())
    answer: dict[str, Any] = {
        "access_token": session.token,
        "instance_url": base_url,
        "id": identity,
        "token_type": "Bearer",
        "issued_at": issued_at,
        "signature": signature.decode(),
        "scope": session.scope,
    }
    if refresh_token:
        answer["refresh_token"] = refresh_token
    return answer


def base_url_of(request: Request) -> str:
    """This server's URL as the client reached it (scheme, host and port), without a trailing slash."""
    return str(request.base_url).rstrip("/")


@router.post("/services/oauth2/token")
async def token(request: Request, org: OrgDep) -> Response:
    try:
        params = await _params(request)
        basic = _basic_credentials(request)
        if basic and "client_id" not in params:
            params["client_id"], params["client_secret"] = basic
        grant = _GRANTS.get(params.get("grant_type", ""))
        if grant is None:
            raise OAuthError("unsupported_grant_type", "grant type not supported")
        # The store's lock may be busy with a large write: keep the event loop free.
        return JSONResponse(await run_in_threadpool(grant, org, params, base_url_of(request)))
    except OAuthError as error:
        return error.response()


def _password_grant(org: Org, params: dict[str, str], base_url: str) -> dict[str, Any]:
    app = _client(org, params.get("client_id"), params.get("client_secret"))
    username = params.get("username", "")
    user = org.settings.user(username)
    user_id = _active_user_id(org, username)
    if user is None or user_id is None or not user.password_matches(params.get("password", "")):
        raise _bad_login()
    session = org.sessions.open_session(user_id, app.client_id, app.scope)
    refresh = org.sessions.issue_refresh_token(user_id, app.client_id, app.scope) if app.issue_refresh_token \
        else None
    return token_answer(org, base_url, session, app, refresh)


def _client_credentials_grant(org: Org, params: dict[str, str], base_url: str) -> dict[str, Any]:
    app = _client(org, params.get("client_id"), params.get("client_secret"))
    user_id = _active_user_id(org, app.run_as) if app.run_as else None
    if user_id is None:
        raise OAuthError("invalid_grant", "no client credentials user enabled")
    session = org.sessions.open_session(user_id, app.client_id, app.scope)
    return token_answer(org, base_url, session, app)


def _refresh_grant(org: Org, params: dict[str, str], base_url: str) -> dict[str, Any]:
    client_id = params.get("client_id")
    configured = org.settings.connected_app(client_id or "")
    secret_required = configured.require_secret_for_refresh if configured else True
    app = _client(org, client_id, params.get("client_secret"), secret_required=secret_required)
    grant = org.sessions.refresh_grant(params.get("refresh_token", ""))
    if grant is None or grant["client_id"] != app.client_id:
        raise OAuthError("invalid_grant", "expired access/refresh token")
    if org.store.get(grant["user_id"]) is None:
        raise OAuthError("invalid_grant", "inactive user")
    session = org.sessions.open_session(grant["user_id"], app.client_id, grant.get("scope", app.scope))
    return token_answer(org, base_url, session, app)


def _jwt_grant(org: Org, params: dict[str, str], base_url: str) -> dict[str, Any]:
    assertion = params.get("assertion", "")
    try:
        claims = jwt.decode(assertion, options={"verify_signature": False})
        algorithm = jwt.get_unverified_header(assertion).get("alg")
    except jwt.PyJWTError:
        raise OAuthError("invalid_grant", "invalid assertion") from None
    app = org.settings.connected_app(str(claims.get("iss", "")))
    if app is None:
        raise OAuthError("invalid_client_id", "client identifier invalid")
    if not app.certificate or algorithm != "RS256":
        raise OAuthError("invalid_grant", "invalid assertion")
    try:
        # Expiry is checked below against the org's clock (which tests may advance), not the wall clock;
        # simple-salesforce also sends ``exp`` as a string, which PyJWT's own check would refuse.
        jwt.decode(assertion, _public_key(app.certificate), algorithms=["RS256"],
                   options={"verify_exp": False, "verify_aud": False, "verify_iat": False, "verify_nbf": False})
    except (jwt.PyJWTError, ValueError):
        raise OAuthError("invalid_grant", "invalid assertion") from None
    if str(claims.get("aud", "")).rstrip("/") not in (*LOGIN_AUDIENCES, base_url):
        raise OAuthError("invalid_grant", "audience is invalid")
    try:
        expires = float(claims["exp"])
    except (KeyError, TypeError, ValueError):
        raise OAuthError("invalid_grant", "invalid assertion") from None
    if expires <= org.clock.peek().timestamp():
        raise OAuthError("invalid_grant", "expired authorization code")
    user_id = _active_user_id(org, str(claims.get("sub", "")))
    if user_id is None:
        raise OAuthError("invalid_grant", "invalid assertion")
    session = org.sessions.open_session(user_id, app.client_id, app.scope)
    return token_answer(org, base_url, session, app)


_GRANTS: dict[str, Callable[[Org, dict[str, str], str], dict[str, Any]]] = {
    "password": _password_grant,
    "client_credentials": _client_credentials_grant,
    "refresh_token": _refresh_grant,
    JWT_BEARER: _jwt_grant,
}


def _public_key(pem: str) -> Any:
    """The public key of a PEM certificate or a PEM public key."""
    data = pem.encode()
    if b"BEGIN CERTIFICATE" in data:
        return x509.load_pem_x509_certificate(data).public_key()
    return load_pem_public_key(data)


@router.api_route("/services/oauth2/revoke", methods=["GET", "POST"])
async def revoke(request: Request, org: OrgDep) -> Response:
    """Revoke an access or refresh token (Salesforce accepts GET and POST)."""
    params = await _params(request)
    if not await run_in_threadpool(org.sessions.revoke, params.get("token", "")):
        return OAuthError("invalid_token", "invalid token").response()
    return Response(status_code=200)


def _identity(org: Org, base_url: str, user_id: str) -> dict[str, Any]:
    record = org.store.get(user_id) or {}
    version = org.api_version
    return {
        "sub": identity_url(base_url, org, user_id),
        "user_id": user_id,
        "organization_id": org.organization_id,
        "preferred_username": record.get("Username"),
        "nickname": record.get("CommunityNickname") or str(record.get("Username") or "").split("@")[0],
        "name": record.get("Name"),
        "email": record.get("Email"),
        "email_verified": True,
        "given_name": record.get("FirstName"),
        "family_name": record.get("LastName"),
        "zoneinfo": record.get("TimeZoneSidKey"),
        "locale": record.get("LocaleSidKey"),
        "language": record.get("LanguageLocaleKey"),
        "active": bool(record.get("IsActive", True)),
        "user_type": "STANDARD",
        "urls": {
            "enterprise": f"{base_url}/services/Soap/c/{version}/{org.organization_id[:15]}",
            "partner": f"{base_url}/services/Soap/u/{version}/{org.organization_id[:15]}",
            "rest": f"{base_url}/services/data/v{version}/",
            "sobjects": f"{base_url}/services/data/v{version}/sobjects/",
            "query": f"{base_url}/services/data/v{version}/query/",
            "limits": f"{base_url}/services/data/v{version}/limits/",
            "profile": f"{base_url}/{user_id}",
        },
    }


@router.get("/services/oauth2/userinfo")
def userinfo(request: Request, org: OrgDep, user_id: UserDep) -> dict[str, Any]:
    return _identity(org, base_url_of(request), user_id)


@router.get("/id/{organization_id}/{user_id}")
def identity(request: Request, organization_id: str, user_id: str, org: OrgDep, session_user: UserDep) -> Response:
    """The identity URL of a token answer; a token may read only its own identity."""
    if organization_id != org.organization_id or user_id != session_user:
        return JSONResponse({"error": "Bad_Id", "error_description": "Bad Id"}, status_code=403)
    body = _identity(org, base_url_of(request), user_id)
    body.update({"id": body["sub"], "username": body["preferred_username"], "display_name": body["name"]})
    return JSONResponse(body)
