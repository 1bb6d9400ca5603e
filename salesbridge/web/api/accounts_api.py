"""``/api/users`` and ``/api/audit``: accounts and the settings trail (admins only)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query, status
from sqlalchemy.orm import Session

from salesbridge.store.web_models import User
from salesbridge.web import accounts
from salesbridge.web.api.common import AUTH_ERRORS, NOT_FOUND, IdPath
from salesbridge.web.auth import AdminDep, StateDep
from salesbridge.web.schemas import AuditOut, Problem, UserIn, UserOut, UserPatch

router = APIRouter(tags=["users"])
_CONFLICT = {409: {"model": Problem, "description": "the name is taken, or the change would leave no admin"}}


@router.get("/users", response_model=list[UserOut], responses=AUTH_ERRORS)
def list_users(_admin: AdminDep, state: StateDep) -> list[UserOut]:
    with state.session() as session:
        return [UserOut.model_validate(user) for user in accounts.list_users(session)]


@router.post("/users", response_model=UserOut, status_code=status.HTTP_201_CREATED,
             responses={**AUTH_ERRORS, **_CONFLICT})
def create_user(body: UserIn, admin: AdminDep, state: StateDep) -> UserOut:
    with state.session() as session:
        user = accounts.create_user(session, body.username, body.password, body.role)
        accounts.audit(session, admin.username, "user.create", user=user.username, role=user.role)
        return UserOut.model_validate(user)


@router.get("/users/{user_id}", response_model=UserOut, responses={**AUTH_ERRORS, **NOT_FOUND})
def get_user(user_id: IdPath, _admin: AdminDep, state: StateDep) -> UserOut:
    with state.session() as session:
        return UserOut.model_validate(_get(session, user_id))


@router.patch("/users/{user_id}", response_model=UserOut, responses={**AUTH_ERRORS, **NOT_FOUND, **_CONFLICT})
def update_user(user_id: IdPath, body: UserPatch, admin: AdminDep, state: StateDep) -> UserOut:
    """Change a role, disable or enable an account, or set a new password (ends the user's sessions)."""
    with state.session() as session:
        user = _get(session, user_id)
        accounts.update_user(session, user, role=body.role, active=body.active, password=body.password)
        changes = body.model_dump(exclude_none=True, exclude={"password"})
        if body.password is not None:
            changes["password"] = "changed"
        accounts.audit(session, admin.username, "user.update", user=user.username, **changes)
        return UserOut.model_validate(user)


@router.delete("/users/{user_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses={**AUTH_ERRORS, **NOT_FOUND, **_CONFLICT})
def delete_user(user_id: IdPath, admin: AdminDep, state: StateDep) -> None:
    with state.session() as session:
        user = _get(session, user_id)
        if user.id == admin.user_id:
            raise HTTPException(status.HTTP_409_CONFLICT, detail="you cannot delete your own account")
        accounts.delete_user(session, user)
        accounts.audit(session, admin.username, "user.delete", user=user.username)


@router.get("/audit", response_model=list[AuditOut], responses=AUTH_ERRORS)
def audit_log(_admin: AdminDep, state: StateDep, limit: int = Query(100, ge=1, le=1000),
              offset: int = Query(0, ge=0, le=10**9)) -> list[AuditOut]:
    """Who changed settings, accounts and connections, newest first (never with secret values)."""
    with state.session() as session:
        return [AuditOut.model_validate(entry) for entry in accounts.audit_entries(session, limit, offset)]


def _get(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"no user {user_id}")
    return user
