"""Tables of the web admin: accounts, API tokens, login sessions, encrypted secrets and an audit trail.

They share ``Base.metadata`` with the hub's tables, so one Alembic history builds both. The web app keeps them
in its own database (``salesbridge-web.db`` beside the config by default; it may also be the app's database),
which exists before any configuration does: the first admin must be able to log in to write the configuration.

Nothing secret is stored in clear: passwords as argon2 hashes, API tokens and session ids as SHA-256 digests
(they are long random strings, so a fast digest is enough), connection secrets as Fernet tokens.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from salesbridge.store.models import Base, IdType, JsonValue, UtcDateTime, utcnow


class Role(StrEnum):
    """What a person may do, each role including the ones below it."""

    VIEWER = "viewer"      # sees runs, errors, conflicts, records and the budget
    OPERATOR = "operator"  # also runs syncs, retries and ignores errors, approves business requests
    ADMIN = "admin"        # also configures connections, flows, schedules and accounts

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def includes(self, other: Role) -> bool:
        return self.rank >= other.rank


_RANKS = {Role.VIEWER: 0, Role.OPERATOR: 1, Role.ADMIN: 2}


class User(Base):
    """A person (or a service account) who may log in to the web admin or use API tokens."""

    __tablename__ = "sb_users"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ApiToken(Base):
    """A bearer token for the REST API, shown once at creation; only its digest is kept."""

    __tablename__ = "sb_api_tokens"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(IdType, ForeignKey("sb_users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class WebSession(Base):
    """A browser login. Server-side, so that logging out (or disabling the user) ends it at once."""

    __tablename__ = "sb_web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 of the cookie value
    user_id: Mapped[int] = mapped_column(IdType, ForeignKey("sb_users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class StoredSecret(Base):
    """A connection secret (client secret, password, ...) encrypted with Fernet; never sent back out."""

    __tablename__ = "sb_secrets"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    ciphertext: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(150))


class AuditEntry(Base):
    """Who changed what in the settings (config imports, connections, accounts): the admins' trail."""

    __tablename__ = "sb_audit_log"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    username: Mapped[str | None] = mapped_column(String(150))
    action: Mapped[str] = mapped_column(String(60))
    details: Mapped[dict[str, Any]] = mapped_column(JsonValue, default=dict)
