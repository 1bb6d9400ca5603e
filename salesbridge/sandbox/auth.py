"""Sessions (access tokens) and refresh tokens of the sandbox org.

Tokens live in the store's key/value table, so a restarted sandbox with a file-backed store keeps them. Time
comes from the org's Clock, so tests can move it forward instead of sleeping.

Expiry follows Salesforce's session timeout: a session ends after ``token_ttl_seconds`` without activity, and
activity extends it only once more than half of the timeout has passed (so a busy client does not cause a write
per request). ``expire_all`` ends every access token issued so far, as an administrator's "expire all sessions"
does; refresh tokens survive it, so that clients can exercise their refresh path.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from salesbridge.sandbox.records import Clock
from salesbridge.sandbox.store import Store

if TYPE_CHECKING:
    from salesbridge.sandbox.org import OrgSettings

_NOT_BEFORE_KEY = "sessions:not_before"


@dataclass(frozen=True)
class Session:
    """A live access token: who it runs as, for which connected app, and when it was issued."""

    token: str
    user_id: str
    client_id: str | None
    issued_at: float
    scope: str


class SessionStore:
    """Access tokens -> user ids, plus refresh tokens."""

    def __init__(self, store: Store, settings: OrgSettings, clock: Clock) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock

    def _now(self) -> float:
        return self.clock.peek().timestamp()

    def _token_prefix(self) -> str:
        return self.settings.organization_id[:15] + "!"

    # -- access tokens ----------------------------------------------------------------------------
    def issue(self, user_id: str, client_id: str | None = None, scope: str = "api") -> str:
        """A new access token for the user; answers the token."""
        return self.open_session(user_id, client_id, scope).token

    def open_session(self, user_id: str, client_id: str | None = None, scope: str = "api") -> Session:
        now = self._now()
        token = self._token_prefix() + secrets.token_urlsafe(40)
        self.store.kv_set(f"session:{token}", {
            "user_id": user_id, "client_id": client_id, "issued_at": now, "last_active": now, "scope": scope,
        })
        return Session(token, user_id, client_id, now, scope)

    def session(self, token: str) -> Session | None:
        """The live session of a token, or None when unknown, revoked or expired (an expired one is dropped)."""
        key = f"session:{token}"
        data = self.store.kv_get(key)
        if not data:
            return None
        now = self._now()
        ttl = self.settings.token_ttl_seconds
        not_before = self.store.kv_get(_NOT_BEFORE_KEY, 0.0)
        if data["issued_at"] < not_before or now - data["last_active"] >= ttl:
            self.store.kv_delete(key)
            return None
        if now - data["last_active"] > ttl / 2:
            data["last_active"] = now
            self.store.kv_set(key, data)
        return Session(token, data["user_id"], data.get("client_id"), data["issued_at"], data.get("scope", "api"))

    def user_for_token(self, token: str) -> str | None:
        session = self.session(token)
        return session.user_id if session else None

    def revoke(self, token: str) -> bool:
        """End an access token or a refresh token; answers whether it existed."""
        for key in (f"session:{token}", f"refresh:{token}"):
            if self.store.kv_get(key) is not None:
                self.store.kv_delete(key)
                return True
        return False

    def expire_all(self) -> None:
        """End every access token issued until now (refresh tokens stay valid)."""
        self.store.kv_set(_NOT_BEFORE_KEY, self._now())

    # -- refresh tokens ---------------------------------------------------------------------------
    def issue_refresh_token(self, user_id: str, client_id: str, scope: str) -> str:
        token = "5Aep" + secrets.token_urlsafe(48)
        self.store.kv_set(f"refresh:{token}", {"user_id": user_id, "client_id": client_id, "scope": scope,
                                               "issued_at": self._now()})
        return token

    def refresh_grant(self, refresh_token: str) -> dict | None:
        """What a refresh token was issued for (user_id, client_id, scope), or None when unknown or revoked."""
        return self.store.kv_get(f"refresh:{refresh_token}")
