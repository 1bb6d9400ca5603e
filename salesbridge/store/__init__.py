"""The hub's own state: links, watermarks, runs, record errors, conflicts, events (SQLAlchemy + Alembic)."""

from salesbridge.store.db import migrate, open_store, session_scope

__all__ = ["migrate", "open_store", "session_scope"]
