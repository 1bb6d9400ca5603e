"""One sandbox org: its schema, its records, its settings and its users' sessions, bundled for the HTTP app."""

from __future__ import annotations

from dataclasses import dataclass, field

from salesbridge.sandbox.auth import SessionStore
from salesbridge.sandbox.records import Clock, RecordService
from salesbridge.sandbox.schema import Schema
from salesbridge.sandbox.store import Store


@dataclass
class OrgSettings:
    """What a sandbox operator may set (from ``--config`` YAML or the admin endpoint)."""

    api_version: str = "62.0"
    daily_api_limit: int = 15000
    token_ttl_seconds: int = 7200
    organization_id: str = "00D8d0000000001EAA"
    #: Users and connected apps seeded at start; see ``seed`` for the defaults.
    users: list[dict] = field(default_factory=list)
    connected_apps: list[dict] = field(default_factory=list)


class Org:
    """Everything one sandbox server serves."""

    def __init__(self, schema: Schema, store: Store, settings: OrgSettings | None = None,
                 clock: Clock | None = None) -> None:
        self.schema = schema
        self.store = store
        self.settings = settings or OrgSettings()
        self.clock = clock or Clock()
        self.records = RecordService(schema, store, self.clock)
        self.sessions = SessionStore(store, self.settings.token_ttl_seconds)

    @property
    def api_version(self) -> str:
        return self.settings.api_version
