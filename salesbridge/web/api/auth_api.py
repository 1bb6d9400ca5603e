"""``/api/auth``: log in and out, who am I, change my password, my API tokens; ``/api/health``."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from sqlalchemy.orm import Session

from salesbridge.store.web_models import User
from salesbridge.web import accounts
from salesbridge.web import auth as web_auth
from salesbridge.web.api.common import AUTH_ERRORS, NOT_FOUND, IdPath
from salesbridge.web.auth import Principal, StateDep, ViewerDep
from salesbridge.web.schemas import (
    Health,
    LoginIn,
    MeOut,
    PasswordChangeIn,
    Problem,
    TokenCreated,
    TokenIn,
    TokenOut,
    UserOut,
)
from salesbridge.web.state import HubUnavailable

router = APIRouter(tags=["auth"])


@router.get("/health", response_model=Health)
def health(state: StateDep, principal: Annotated[Principal | None, Depends(web_auth.optional_principal)]
           ) -> Health:
    """Is the web app up, and does it have a valid configuration? No login needed; what is wrong with the
    configuration is told to logged-in users only."""
    active = state.runs.active
    try:
        state.hub_config()
    except HubUnavailable as error:
        return Health(status="ok", configured=False, problem=str(error) if principal else None,
                      running_run_id=active.run_id if active else None)
    return Health(status="ok", configured=True, running_run_id=active.run_id if active else None)


@router.post("/auth/login", response_model=MeOut,
             responses={401: {"model": Problem, "description": "wrong username or password"},
                        429: {"model": Problem, "description": "too many failed logins: wait (Retry-After)"}})
def login(body: LoginIn, request: Request, response: Response, state: StateDep) -> MeOut:
    """Start a browser session: sets the session cookie and returns the CSRF token for later changes."""
    user, csrf = web_auth.login(state, response, body.username, body.password,
                                web_auth.cookie_secure(state, request),
                                client=request.client.host if request.client else None)
    return MeOut(user=UserOut.model_validate(user), auth="session", csrf_token=csrf)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT, responses=AUTH_ERRORS)
def logout(request: Request, response: Response, state: StateDep, _principal: ViewerDep) -> None:
    """End this browser session (API tokens stay valid: revoke them under /api/auth/tokens)."""
    web_auth.logout(state, request, response)


@router.get("/auth/me", response_model=MeOut, responses=AUTH_ERRORS)
def me(principal: ViewerDep, state: StateDep) -> MeOut:
    with state.session() as session:
        user = _user(session, principal)
        return MeOut(user=UserOut.model_validate(user), auth=principal.via, csrf_token=principal.csrf_token)


@router.post("/auth/password", status_code=status.HTTP_204_NO_CONTENT,
             responses={**AUTH_ERRORS,
                        400: {"model": Problem, "description": "the current password is wrong"}})
def change_password(body: PasswordChangeIn, principal: ViewerDep, state: StateDep, request: Request,
                    response: Response) -> None:
    """Change my password. Every browser session of mine ends; this one gets a new session at once."""
    with state.session() as session:
        user = _user(session, principal)
        if accounts.authenticate(session, user.username, body.current_password) is None:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, detail="the current password is wrong")
        accounts.update_user(session, user, password=body.new_password)
        if principal.via == "session":
            cookie, row = accounts.start_session(session, user, state.settings.session_ttl)
            web_auth.set_session_cookies(response, state, cookie, row.id,
                                         web_auth.cookie_secure(state, request))


@router.get("/auth/tokens", response_model=list[TokenOut], responses=AUTH_ERRORS)
def list_tokens(principal: ViewerDep, state: StateDep) -> list[TokenOut]:
    """My API tokens (never the tokens themselves: only their first characters)."""
    with state.session() as session:
        return [TokenOut.model_validate(token) for token in accounts.list_tokens(session, principal.user_id)]


@router.post("/auth/tokens", response_model=TokenCreated, status_code=status.HTTP_201_CREATED,
             responses=AUTH_ERRORS)
def create_token(body: TokenIn, principal: ViewerDep, state: StateDep) -> TokenCreated:
    """A new API token with my role, for ``Authorization: Bearer <token>``. The token is shown this once."""
    with state.session() as session:
        user = _user(session, principal)
        expires = timedelta(days=body.expires_in_days) if body.expires_in_days else None
        issued = accounts.create_token(session, user, body.name, expires)
        return TokenCreated(**TokenOut.model_validate(issued.token).model_dump(), token=issued.text)


@router.delete("/auth/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses={**AUTH_ERRORS, **NOT_FOUND})
def revoke_token(token_id: IdPath, principal: ViewerDep, state: StateDep) -> None:
    """Revoke one of my tokens (it stops working at once, also if it is the one making this request)."""
    with state.session() as session:
        if not accounts.revoke_token(session, principal.user_id, token_id):
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"you have no token {token_id}")


def _user(session: Session, principal: Principal) -> User:
    user = session.get(User, principal.user_id)
    if user is None:  # deleted between authentication and now
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="this account no longer exists")
    return user

