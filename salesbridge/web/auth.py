"""Who is asking, and may they: FastAPI dependencies for sessions, API tokens, roles and CSRF.

- ``Authorization: Bearer sbt_...``: an API token. A token that is sent but not valid is a 401 (never a silent
  fall-back to the cookie). Token requests need no CSRF token: browsers never attach them by themselves.
- The ``salesbridge_session`` cookie: a server-side login session (HttpOnly, SameSite=Lax). Every unsafe
  request (POST, PUT, PATCH, DELETE) made with it must carry the session's CSRF token in the ``X-CSRF-Token``
  header or a ``csrf_token`` form field (synchronizer token: derived from the session with the secret key, so
  it is checked without storing it, and it changes with every login). The token is given by
  ``/api/auth/login`` and ``/api/auth/me`` and in the readable ``salesbridge_csrf`` cookie.
- Anonymous -> 401; logged in with too small a role -> 403 naming the role needed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, HTTPException, Request, Response, status

from salesbridge.store.web_models import Role, User
from salesbridge.web import accounts
from salesbridge.web.state import WebState

SESSION_COOKIE = "salesbridge_session"
CSRF_COOKIE = "salesbridge_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FORM_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


@dataclass(frozen=True)
class Principal:
    """The user behind a request and how they proved it."""

    user_id: int
    username: str
    role: Role
    via: Literal["session", "token"]
    session_id: str | None = None  # digest of the session cookie
    token_id: int | None = None
    csrf_token: str | None = None

    def has(self, role: Role) -> bool:
        return self.role.includes(role)


def web_state(request: Request) -> WebState:
    return request.app.state.web


StateDep = Annotated[WebState, Depends(web_state)]


def csrf_token_for(secret_key: str, session_id: str) -> str:
    """The CSRF token of a session: an HMAC of its id, so it needs no storage and dies with the session."""
    mac = hmac.new(secret_key.encode("utf-8"), f"csrf:{session_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def optional_principal(request: Request, state: StateDep) -> Principal | None:
    """The caller, or None when anonymous (for pages that show a login form instead of a 401)."""
    header = request.headers.get("authorization")
    if header:
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            raise _unauthorized("the Authorization header must be 'Bearer <API token>'")
        with state.session() as session:
            found = accounts.user_for_token(session, credentials.strip())
            if found is None:
                raise _unauthorized("invalid or expired API token")
            user, token = found
            return _principal(user, "token", token_id=token.id)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        with state.session() as session:
            found_session = accounts.user_for_session(session, cookie, state.settings.session_ttl)
            if found_session is not None:
                user, row = found_session
                return _principal(user, "session", session_id=row.id,
                                  csrf_token=csrf_token_for(state.settings.secret_key, row.id))
    return None


def _principal(user: User, via: Literal["session", "token"], *, session_id: str | None = None,
               token_id: int | None = None, csrf_token: str | None = None) -> Principal:
    return Principal(user_id=user.id, username=user.username, role=Role(user.role), via=via,
                     session_id=session_id, token_id=token_id, csrf_token=csrf_token)


async def current_principal(request: Request,
                            principal: Annotated[Principal | None, Depends(optional_principal)]) -> Principal:
    """The logged-in caller (401 when anonymous), with the CSRF token checked on unsafe session requests."""
    if principal is None:
        raise _unauthorized("authentication required: log in (POST /api/auth/login) or send an API token "
                            "as 'Authorization: Bearer <token>'")
    if principal.via == "session" and request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER)
        content_type = request.headers.get("content-type", "")
        if not sent and content_type.startswith(_FORM_TYPES):
            form_value = (await request.form()).get(CSRF_FORM_FIELD)
            sent = form_value if isinstance(form_value, str) else None
        if not sent or not principal.csrf_token or not hmac.compare_digest(sent, principal.csrf_token):
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail=(
                f"CSRF token missing or wrong: a change made with a session cookie needs the {CSRF_HEADER} "
                "header (its value is in /api/auth/me and the salesbridge_csrf cookie)"))
    return principal


def require_role(role: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency that lets through callers with ``role`` or a higher one."""

    async def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if not principal.has(role):
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                detail=f"this needs the {role.value} role; you are {principal.role.value}")
        return principal

    check.__name__ = f"require_{role.value}"
    return check


ViewerDep = Annotated[Principal, Depends(require_role(Role.VIEWER))]
OperatorDep = Annotated[Principal, Depends(require_role(Role.OPERATOR))]
AdminDep = Annotated[Principal, Depends(require_role(Role.ADMIN))]


def set_session_cookies(response: Response, state: WebState, cookie: str, session_id: str,
                        secure: bool) -> str:
    """Put a new session in the response's cookies; returns its CSRF token."""
    max_age = int(state.settings.session_ttl.total_seconds())
    csrf = csrf_token_for(state.settings.secret_key, session_id)
    response.set_cookie(SESSION_COOKIE, cookie, max_age=max_age, httponly=True, samesite="lax", secure=secure,
                        path="/")
    response.set_cookie(CSRF_COOKIE, csrf, max_age=max_age, httponly=False, samesite="strict", secure=secure,
                        path="/")
    return csrf


def clear_session_cookies(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")


def login(state: WebState, response: Response, username: str, password: str, secure: bool, *,
          client: str | None = None) -> tuple[User, str]:
    """Check the password, start a session and set its cookies; returns the user and the CSRF token.

    Raises 401 for a wrong name or password (the same answer for both, so names cannot be probed), and 429
    after too many failures for this name from this ``client`` address (see ``throttle``).
    """
    wait = state.login_throttle.retry_after(username, client)
    if wait > 0:
        raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, detail=(
            f"too many failed logins: try again in {int(wait) + 1} seconds"),
            headers={"Retry-After": str(int(wait) + 1)})
    with state.session() as session:
        user = accounts.authenticate(session, username, password)
        if user is None:
            state.login_throttle.failed(username, client)
            raise _unauthorized("wrong username or password")
        state.login_throttle.succeeded(username, client)
        cookie, row = accounts.start_session(session, user, state.settings.session_ttl)
        accounts.prune_sessions(session)
        csrf = set_session_cookies(response, state, cookie, row.id, secure)
        session.expunge(user)
    return user, csrf


def logout(state: WebState, request: Request, response: Response) -> None:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        with state.session() as session:
            accounts.end_session(session, cookie)
    clear_session_cookies(response)


def cookie_secure(state: WebState, request: Request) -> bool:
    return state.settings.cookie_secure or request.url.scheme == "https"
