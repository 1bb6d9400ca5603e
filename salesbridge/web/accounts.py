"""Accounts, API tokens and login sessions: the reads and writes behind authentication.

Like ``salesbridge.store.repository``, every function takes the caller's ``Session`` and never commits.
Passwords are hashed with argon2id (argon2-cffi); API tokens and session ids are 256-bit random strings, so a
SHA-256 digest is enough to store them (a stolen database gives no usable token).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from salesbridge.store.models import utcnow
from salesbridge.store.web_models import ApiToken, AuditEntry, Role, User, WebSession

#: Token text starts with this, so that a leaked token is recognisable (secret scanners, logs).
TOKEN_PREFIX = "sbt_"
MIN_PASSWORD_LENGTH = 8
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+\-]{0,149}$")

_hasher = PasswordHasher()
#: A hash to verify against when the user does not exist, so that both answers take as long.
_dummy_hash: str | None = None


class AccountError(ValueError):
    """A request about accounts that cannot be honoured (bad name, weak password, last admin...)."""


def use_password_hasher(hasher: PasswordHasher) -> None:
    """Replace the argon2 parameters (tests use cheap ones; existing hashes keep verifying)."""
    global _hasher, _dummy_hash
    _hasher = hasher
    _dummy_hash = None


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def digest(value: str) -> str:
    """SHA-256 hex digest of a token or session id: what the database keeps instead of the value."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


# -- users ------------------------------------------------------------------------------------------------


def create_user(session: Session, username: str, password: str, role: Role | str) -> User:
    if not USERNAME_PATTERN.match(username):
        raise AccountError("a username is 1-150 letters, digits and . _ @ + - "
                           "(starting with a letter or digit)")
    if get_user_by_name(session, username) is not None:
        raise AccountError(f"user '{username}' already exists")
    user = User(username=username, password_hash=hash_password(password), role=Role(role).value, active=True)
    session.add(user)
    session.flush()
    return user


def get_user_by_name(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.username) == username.lower()))


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def count_active_admins(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User).where(
        User.role == Role.ADMIN.value, User.active.is_(True))) or 0


def update_user(session: Session, user: User, *, role: Role | str | None = None, active: bool | None = None,
                password: str | None = None) -> User:
    """Change a user's role, active flag or password; refuses to leave the hub without an active admin.

    Disabling a user or changing the password ends their browser sessions (tokens are kept for a role change,
    revoked when the user is disabled).
    """
    removes_admin = user.role == Role.ADMIN.value and user.active and (
        (role is not None and Role(role) != Role.ADMIN) or active is False)
    if removes_admin and count_active_admins(session) <= 1:
        raise AccountError("this is the last active admin: make another admin first")
    if role is not None:
        user.role = Role(role).value
    if password is not None:
        user.password_hash = hash_password(password)
        end_sessions(session, user.id)
    if active is not None:
        user.active = active
        if not active:
            end_sessions(session, user.id)
            session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
    session.flush()
    return user


def delete_user(session: Session, user: User) -> None:
    if user.role == Role.ADMIN.value and user.active and count_active_admins(session) <= 1:
        raise AccountError("this is the last active admin: make another admin first")
    session.delete(user)
    session.flush()


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The active user with this name and password, or None; upgrades the hash when the parameters changed."""
    global _dummy_hash
    user = get_user_by_name(session, username)
    if user is None or not user.active:
        if _dummy_hash is None:
            _dummy_hash = _hasher.hash("not a password of anyone")
        _verify(_dummy_hash, password)
        return None
    if not _verify(user.password_hash, password):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = utcnow()
    session.flush()
    return user


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# -- API tokens -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedToken:
    """A new token: ``text`` is shown to its owner once and never stored."""

    token: ApiToken
    text: str


def create_token(session: Session, user: User, name: str, expires_in: timedelta | None = None) -> IssuedToken:
    name = name.strip()
    if not name or len(name) > 100:
        raise AccountError("a token needs a name of 1-100 characters")
    text = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, prefix=text[:len(TOKEN_PREFIX) + 6], token_hash=digest(text),
                     expires_at=utcnow() + expires_in if expires_in else None)
    session.add(token)
    session.flush()
    return IssuedToken(token, text)


def user_for_token(session: Session, text: str) -> tuple[User, ApiToken] | None:
    """The active owner of a valid, unexpired token (its last use noted), or None."""
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(text)))
    if token is None or (token.expires_at is not None and token.expires_at <= utcnow()):
        return None
    user = session.get(User, token.user_id)
    if user is None or not user.active:
        return None
    token.last_used_at = utcnow()
    session.flush()
    return user, token


def list_tokens(session: Session, user_id: int) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id)))


def revoke_token(session: Session, user_id: int, token_id: int) -> bool:
    result = session.execute(delete(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user_id))
    return bool(result.rowcount)


# -- browser sessions -------------------------------------------------------------------------------------


def start_session(session: Session, user: User, ttl: timedelta) -> tuple[str, WebSession]:
    """A new login session; returns the cookie value (only its digest is stored) and the row."""
    cookie = secrets.token_urlsafe(32)
    now = utcnow()
    row = WebSession(id=digest(cookie), user_id=user.id, created_at=now, last_seen_at=now,
                     expires_at=now + ttl)
    session.add(row)
    session.flush()
    return cookie, row


def user_for_session(session: Session, cookie: str, ttl: timedelta) -> tuple[User, WebSession] | None:
    """The active user of a live session; each use pushes the expiry out by ``ttl`` (idle timeout)."""
    row = session.get(WebSession, digest(cookie))
    now = utcnow()
    if row is None or row.expires_at <= now:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    if now - row.last_seen_at > timedelta(minutes=1):  # no write on every request
        row.last_seen_at = now
        row.expires_at = now + ttl
        session.flush()
    return user, row


def end_session(session: Session, cookie: str) -> None:
    session.execute(delete(WebSession).where(WebSession.id == digest(cookie)))


def end_sessions(session: Session, user_id: int) -> None:
    session.execute(delete(WebSession).where(WebSession.user_id == user_id))


def prune_sessions(session: Session, now: datetime | None = None) -> int:
    result = session.execute(delete(WebSession).where(WebSession.expires_at <= (now or utcnow())))
    return result.rowcount


# -- audit ------------------------------------------------------------------------------------------------


def audit(session: Session, username: str | None, action: str, **details: object) -> None:
    """Note a settings change (never with secret values: callers pass names, not values)."""
    session.add(AuditEntry(username=username, action=action, details=dict(details)))
    session.flush()


def audit_entries(session: Session, limit: int = 100, offset: int = 0) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit).offset(offset)
    return list(session.scalars(query))
