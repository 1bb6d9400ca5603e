"""Sessions (access tokens) of the sandbox org.  STUB: to be completed (expiry, refresh tokens, OAuth grants,
SOAP login, JWT bearer)."""

from __future__ import annotations

import secrets

from salesbridge.sandbox.store import Store


class SessionStore:
    """Access tokens -> user ids, kept in the store so that a restarted sandbox keeps its sessions."""

    def __init__(self, store: Store, ttl_seconds: int) -> None:
        self.store = store
        self.ttl_seconds = ttl_seconds

    def issue(self, user_id: str) -> str:
        token = "00D8d0000000001!" + secrets.token_urlsafe(32)
        self.store.kv_set(f"session:{token}", {"user_id": user_id})
        return token

    def user_for_token(self, token: str) -> str | None:
        session = self.store.kv_get(f"session:{token}")
        return session["user_id"] if session else None
