"""One sandbox org: its schema, its records, its settings and its users' sessions, bundled for the HTTP app.

Settings come from ``OrgSettings`` defaults, from a YAML ``--config`` file (``OrgSettings.from_yaml``) or from
the admin endpoint at run time. Users and connected apps are what the OAuth and SOAP logins check against; users
are also seeded as User records (key prefix 005) by ``server.build_org``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from salesbridge.sandbox.auth import SessionStore
from salesbridge.sandbox.errors import SandboxApiError
from salesbridge.sandbox.faults import FaultInjector, FaultSettings
from salesbridge.sandbox.limits import ApiUsage
from salesbridge.sandbox.records import Clock, RecordService
from salesbridge.sandbox.schema import Schema
from salesbridge.sandbox.store import Store

DEFAULT_PASSWORD = "sandbox-pass"
DEFAULT_SECURITY_TOKEN = "sandboxtoken"
DEFAULT_ADMIN = "admin@sandbox.example"


class SettingsError(ValueError):
    """A configuration file or admin request that does not describe valid org settings."""


@dataclass
class UserSettings:
    """A user who can log in; seeded as a User record when the org starts."""

    username: str
    password: str = DEFAULT_PASSWORD
    security_token: str = DEFAULT_SECURITY_TOKEN
    first_name: str = ""
    last_name: str = "User"
    email: str = ""
    time_zone: str = "America/Los_Angeles"
    locale: str = "en_US"
    language: str = "en_US"
    active: bool = True

    def __post_init__(self) -> None:
        self.email = self.email or self.username

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def password_matches(self, given: str) -> bool:
        """Salesforce accepts the password alone (trusted IP) or the password followed by the security token."""
        return given in (self.password, self.password + self.security_token)


@dataclass
class ConnectedAppSettings:
    """An OAuth client. ``run_as`` is the user of the client credentials flow (none: the flow is refused).

    Salesforce issues refresh tokens only to flows a user authorised interactively (web server, user-agent);
    the username-password, client credentials and JWT bearer flows never get one. ``issue_refresh_token``
    lets a sandbox app also answer a refresh token to the password flow, so that a client's refresh path can
    be tested without a browser. ``certificate`` (PEM certificate or public key) or ``certificate_file``
    verifies JWT bearer assertions.
    """

    client_id: str
    client_secret: str
    name: str = ""
    run_as: str | None = None
    issue_refresh_token: bool = False
    #: Salesforce's "Require Secret for Refresh Token Flow" (on by default for new connected apps).
    require_secret_for_refresh: bool = True
    certificate: str | None = None
    certificate_file: str | None = None
    scope: str = "api"

    def __post_init__(self) -> None:
        self.name = self.name or self.client_id
        if self.certificate is None and self.certificate_file:
            self.certificate = Path(self.certificate_file).read_text()


def default_users() -> list[UserSettings]:
    return [
        UserSettings(DEFAULT_ADMIN, first_name="Sandbox", last_name="Admin"),
        UserSettings("sales.manager@sandbox.example", first_name="Sales", last_name="Manager"),
    ]


def default_connected_apps() -> list[ConnectedAppSettings]:
    return [
        ConnectedAppSettings("salesbridge", "salesbridge-secret", name="salesbridge", run_as=DEFAULT_ADMIN),
        ConnectedAppSettings("salesbridge-refresh", "salesbridge-refresh-secret", name="salesbridge refresh",
                             run_as=DEFAULT_ADMIN, issue_refresh_token=True, scope="api refresh_token"),
    ]


@dataclass
class OrgSettings:
    """What a sandbox operator may set (from ``--config`` YAML or the admin endpoint)."""

    api_version: str = "62.0"
    daily_api_limit: int = 15000
    token_ttl_seconds: int = 7200
    organization_id: str = "00D8d0000000001EAA"
    organization_name: str = "Salesbridge Sandbox"
    users: list[UserSettings] = field(default_factory=default_users)
    connected_apps: list[ConnectedAppSettings] = field(default_factory=default_connected_apps)
    faults: FaultSettings = field(default_factory=FaultSettings)
    #: Largest file a ContentVersion may carry as base64 in a JSON request (Salesforce: 37.5 MB).
    max_file_bytes: int = 39_321_600
    #: Lead Status values whose meaning is "converted" (LeadStatus.IsConverted), accepted by convertLead.
    converted_lead_statuses: list[str] = field(default_factory=lambda: ["Closed - Converted"])

    def __post_init__(self) -> None:
        # Accept plain dicts (YAML, JSON, tests) as well as the dataclasses.
        self.users = [u if isinstance(u, UserSettings) else _build(UserSettings, u, "users") for u in self.users]
        self.connected_apps = [a if isinstance(a, ConnectedAppSettings)
                               else _build(ConnectedAppSettings, a, "connected_apps")
                               for a in self.connected_apps]
        if not isinstance(self.faults, FaultSettings):
            self.faults = _build(FaultSettings, self.faults or {}, "faults")
        if self.daily_api_limit < 0 or self.token_ttl_seconds <= 0:
            raise SettingsError("daily_api_limit must be >= 0 and token_ttl_seconds > 0")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OrgSettings:
        return _build(cls, data, "")

    @classmethod
    def from_yaml(cls, path: str | Path) -> OrgSettings:
        """Settings from a YAML file; keys not given keep their defaults. Errors name the file and key."""
        try:
            data = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError) as error:
            raise SettingsError(f"{path}: cannot read sandbox config: {error}") from error
        if not isinstance(data, dict):
            raise SettingsError(f"{path}: expected a mapping of settings at the top level")
        _resolve_certificate_files(data, Path(path).parent)
        try:
            return cls.from_dict(data)
        except SettingsError as error:
            raise SettingsError(f"{path}: {error}") from error

    def user(self, username: str) -> UserSettings | None:
        """The user with this username (case-insensitive, as Salesforce usernames are)."""
        wanted = username.strip().lower()
        return next((u for u in self.users if u.username.lower() == wanted), None)

    def connected_app(self, client_id: str) -> ConnectedAppSettings | None:
        return next((a for a in self.connected_apps if a.client_id == client_id), None)

    def public_dict(self) -> dict[str, Any]:
        """Settings without secrets, for the admin endpoint."""
        return {
            "api_version": self.api_version,
            "daily_api_limit": self.daily_api_limit,
            "token_ttl_seconds": self.token_ttl_seconds,
            "organization_id": self.organization_id,
            "organization_name": self.organization_name,
            "users": [u.username for u in self.users],
            "connected_apps": [a.client_id for a in self.connected_apps],
            "faults": asdict(self.faults),
        }


def _resolve_certificate_files(data: dict[str, Any], base: Path) -> None:
    """Relative ``certificate_file`` paths in a config file are relative to that file, not to the cwd."""
    for app in data.get("connected_apps") or []:
        if isinstance(app, dict) and isinstance(app.get("certificate_file"), str):
            app["certificate_file"] = str(base / Path(app["certificate_file"]).expanduser())


def _build(cls: type, data: Any, where: str) -> Any:
    """Construct a settings dataclass from a dict, naming the unknown or ill-typed key on error."""
    if not isinstance(data, dict):
        raise SettingsError(f"{where or 'settings'}: expected a mapping, got {type(data).__name__}")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        prefix = f"{where}." if where else ""
        raise SettingsError(f"unknown setting {prefix}{unknown[0]} (known: {', '.join(sorted(known))})")
    try:
        return cls(**data)
    except (TypeError, ValueError, OSError) as error:
        raise SettingsError(f"{where or 'settings'}: {error}") from error


class FaultAwareRecordService(RecordService):
    """The write path with the fault injector's UNABLE_TO_LOCK_ROW in front of every record write.

    Putting the check here rather than in HTTP middleware makes every API (single-record REST, collections,
    composite, Bulk, SOAP) fail per record, as Salesforce does when a row lock times out.
    """

    def __init__(self, schema: Schema, store: Store, clock: Clock, faults: FaultInjector) -> None:
        super().__init__(schema, store, clock)
        self.faults = faults

    def _check_lock(self, record_id: str | None) -> None:
        if self.faults.should_lock():
            suffix = f" or 1 records: {record_id}" if record_id else ""
            raise SandboxApiError("UNABLE_TO_LOCK_ROW",
                                  f"unable to obtain exclusive access to this record{suffix}", status=400)

    def create(self, object_name: str, values: dict[str, Any], user_id: str) -> str:
        self._check_lock(None)
        return super().create(object_name, values, user_id)

    def update(self, object_name: str, record_id: str, values: dict[str, Any], user_id: str) -> None:
        self._check_lock(record_id)
        super().update(object_name, record_id, values, user_id)

    def delete(self, object_name: str | None, record_id: str, user_id: str) -> None:
        self._check_lock(record_id)
        super().delete(object_name, record_id, user_id)


class Org:
    """Everything one sandbox server serves."""

    def __init__(self, schema: Schema, store: Store, settings: OrgSettings | None = None,
                 clock: Clock | None = None) -> None:
        self.schema = schema
        self.store = store
        self.settings = settings or OrgSettings()
        self.clock = clock or Clock()
        self.faults = FaultInjector(self.settings.faults)
        self.records: RecordService = FaultAwareRecordService(schema, store, self.clock, self.faults)
        self.sessions = SessionStore(store, self.settings, self.clock)
        self.api_usage = ApiUsage(store, self.settings, self.clock)
        from salesbridge.sandbox import files  # here, not at the top: files' router imports http, which imports us

        files.install(self)

    @property
    def api_version(self) -> str:
        return self.settings.api_version

    @property
    def organization_id(self) -> str:
        return self.settings.organization_id

    def user_record(self, username: str) -> dict[str, Any] | None:
        """The live User record with this username (case-insensitive)."""
        wanted = username.strip().lower()
        for record in self.store.records("User"):
            if str(record.get("Username") or "").lower() == wanted:
                return record
        return None

    def user_settings_for_id(self, user_id: str) -> UserSettings | None:
        record = self.store.get(user_id)
        if record is None:
            return None
        return self.settings.user(str(record.get("Username") or ""))
