"""Request and response models of the REST API: they are what the OpenAPI document shows, so they say what
each field means. Nothing here ever carries a secret value back out (connections report *whether* a secret
is set)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from salesbridge.store.web_models import Role


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Problem(BaseModel):
    """Every error answer: ``detail`` says what went wrong and what to do."""

    detail: Any = Field(description="a message, or for validation errors a list of problems")


class ConfigProblem(BaseModel):
    """A configuration that does not validate: the key path and what was expected there."""

    file: str
    key: str = Field(description="key path in the YAML, e.g. flows[0].fields.Status.values")
    expected: str
    message: str


class ConfigProblemAnswer(BaseModel):
    detail: ConfigProblem | list[dict[str, Any]] = Field(
        description="the configuration's first problem, or (for a malformed request) the validation errors")


# -- auth and accounts ------------------------------------------------------------------------------------


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=150)
    password: str = Field(min_length=1, max_length=1024)


class UserOut(_Out):
    id: int
    username: str
    role: Role
    active: bool
    created_at: datetime
    last_login_at: datetime | None = None


class MeOut(BaseModel):
    user: UserOut
    auth: Literal["session", "token"] = Field(description="how this request was authenticated")
    csrf_token: str | None = Field(default=None, description="send as X-CSRF-Token with unsafe requests made "
                                   "with the session cookie (none for API tokens)")


class PasswordChangeIn(BaseModel):
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=8, max_length=1024)


class TokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=100, description="what the token is for, e.g. 'ci'")
    expires_in_days: int | None = Field(default=None, ge=1, le=3650, description="none: never expires")


class TokenOut(_Out):
    id: int
    name: str
    prefix: str = Field(description="the token's first characters, to recognise it")
    created_at: datetime
    expires_at: datetime | None = None
    last_used_at: datetime | None = None


class TokenCreated(TokenOut):
    token: str = Field(description="the token itself: shown this once, never again")


class UserIn(BaseModel):
    username: str = Field(min_length=1, max_length=150, pattern=r"^[A-Za-z0-9][A-Za-z0-9._@+\-]*$",
                          description="letters, digits and . _ @ + -")
    password: str = Field(min_length=8, max_length=1024)
    role: Role = Role.VIEWER


class UserPatch(BaseModel):
    role: Role | None = None
    active: bool | None = None
    password: str | None = Field(default=None, min_length=8, max_length=1024)


class AuditOut(_Out):
    id: int
    at: datetime
    username: str | None
    action: str
    details: dict[str, Any]


# -- runs, flows, errors, conflicts ----------------------------------------------------------------------


class FlowStats(_Out):
    flow: str
    records_read: int
    records_written: int
    records_failed: int
    conflicts: int
    api_calls: int
    deletes: int


class RunOut(_Out):
    id: int
    status: str = Field(description="running, succeeded, partial (some records failed), failed, stopped "
                        "(API budget reached), interrupted (its process died)")
    trigger: str
    flows: list[str]
    started_at: datetime
    finished_at: datetime | None = None
    api_calls: int
    error: str | None = None
    records_read: int = 0
    records_written: int = 0
    records_failed: int = 0
    conflicts: int = 0


class LiveProgress(BaseModel):
    """What a running sync has done so far in this process (per flow, per stage: records handled)."""

    current_flow: str | None
    progress: dict[str, dict[str, int]]


class ConflictOut(_Out):
    id: int
    run_id: int | None
    flow: str
    app_key: str | None
    sf_id: str | None
    policy: str
    winner: str
    sf_values: dict[str, Any]
    app_values: dict[str, Any]
    created_at: datetime


class RunDetail(RunOut):
    per_flow: list[FlowStats]
    conflicts_found: list[ConflictOut] = Field(description="conflicts recorded by this run (up to 200)")
    open_errors: int = Field(description="record errors of this run still open")
    live: LiveProgress | None = Field(default=None, description="set while the run is going on")


class RunStart(BaseModel):
    flows: list[str] | None = Field(default=None, description="flow names; none: every enabled flow")


class RunStarted(BaseModel):
    run_id: int
    status_url: str = Field(description="poll this while the status is 'running'")


class LastRun(BaseModel):
    run_id: int
    status: str
    started_at: datetime
    finished_at: datetime | None
    records_read: int
    records_written: int
    records_failed: int
    conflicts: int
    api_calls: int


class FlowOut(BaseModel):
    name: str
    salesforce: str
    table: str
    direction: str
    enabled: bool
    conflict: str
    schedule: Any = Field(default=None, description="the flow's schedule as configured (none: manual only)")
    last_run: LastRun | None
    open_errors: int


class FlowDetail(FlowOut):
    fields: list[dict[str, Any]]
    key: dict[str, Any]
    filter: dict[str, Any]


class ErrorOut(_Out):
    id: int
    run_id: int | None
    flow: str
    direction: str
    operation: str
    app_key: str | None
    sf_id: str | None
    error_code: str = Field(description="Salesforce's errorCode (or the hub's, e.g. UNMAPPED_VALUE)")
    message: str
    fields: list[str]
    status: str = Field(description="open, retrying, resolved or ignored")
    attempts: int
    created_at: datetime
    updated_at: datetime


class ErrorDetail(ErrorOut):
    payload: Any = Field(description="the record as it was sent (or read)")


class RetryIn(BaseModel):
    flow: str | None = Field(default=None, description="only this flow's open errors")
    ids: list[int] | None = Field(default=None, description="only these errors")


# -- records --------------------------------------------------------------------------------------------


class LinkOut(_Out):
    flow: str
    app_key: str
    sf_id: str | None
    sf_object: str
    sf_modstamp: str | None
    deleted: bool
    deleted_at: datetime | None
    created_at: datetime
    updated_at: datetime


class FieldPair(BaseModel):
    salesforce_field: str
    app_column: str
    direction: str | None
    salesforce_value: Any
    app_value: Any
    same: bool = Field(description="do both sides hold the same value (after the value map)?")


class HistoryItem(BaseModel):
    kind: Literal["event", "error", "conflict"]
    at: datetime
    run_id: int | None
    summary: str
    details: dict[str, Any]


class RecordView(BaseModel):
    flow: str
    app_key: str | None
    sf_id: str | None
    link: LinkOut | None
    app_row: dict[str, Any] | None = Field(description="the app table's row (none: not there)")
    salesforce_record: dict[str, Any] | None = Field(description="the Salesforce record's mapped fields")
    fields: list[FieldPair]
    history: list[HistoryItem]


class RecordSyncIn(BaseModel):
    app_key: str | None = Field(default=None, max_length=255)
    sf_id: str | None = Field(default=None, max_length=18)


class RecordSyncOut(BaseModel):
    run_id: int
    status: str
    written: int
    failed: int
    errors: dict[str, str]


# -- budget, config, connections -------------------------------------------------------------------------


class BudgetOut(BaseModel):
    max: int | None = Field(description="the org's daily API requests allowance")
    remaining: int | None
    used: int | None
    used_share: float | None
    stop_share: float | None = Field(description="runs stop at this share of the allowance "
                                     "(settings.budget_share)")
    limits: dict[str, Any] = Field(description="the org's other limits, as Salesforce reports them")


class ConfigText(BaseModel):
    yaml: str = Field(description="the whole configuration as YAML; masked secrets (********) keep their "
                      "stored values")


class ConfigValidation(BaseModel):
    valid: bool
    problem: ConfigProblem | None = None
    flows: list[str] = Field(default_factory=list)


class SecretState(BaseModel):
    set: bool
    source: Literal["vault", "environment", "file", "missing", "none"] = Field(
        description="vault: stored encrypted by the web; environment: a variable; file: written in the YAML "
                    "file; missing: referred to but not set; none: not configured")


class SalesforceConnectionOut(BaseModel):
    login_url: str
    flow: str
    client_id: str | None
    username: str | None
    private_key: str | None = Field(description="a path (a PEM held in the file is never shown)")
    verify: bool | str
    api_version: str
    secrets: dict[str, SecretState] = Field(description="client_secret, password, security_token: set or not")


class AppConnectionOut(BaseModel):
    url: str = Field(description="the app database URL, its password masked")


class ConnectionsOut(BaseModel):
    configured: bool
    salesforce: SalesforceConnectionOut | None
    app: AppConnectionOut | None


class SalesforceConnectionIn(BaseModel):
    """Connection settings; a secret left out (or null) keeps the one stored, an empty string removes it."""

    login_url: str = Field(min_length=1, max_length=500)
    flow: Literal["password", "client_credentials", "jwt", "soap"] = "password"
    client_id: str | None = Field(default=None, max_length=500)
    username: str | None = Field(default=None, max_length=255)
    private_key: str | None = Field(default=None, max_length=20000, description="PEM text (stored encrypted) "
                                    "or a path")
    verify: bool | str = True
    api_version: str = Field(default="62.0", pattern=r"^\d{2,3}\.0$")
    client_secret: str | None = Field(default=None, max_length=2000)
    password: str | None = Field(default=None, max_length=2000)
    security_token: str | None = Field(default=None, max_length=2000)


class AppConnectionIn(BaseModel):
    url: str = Field(min_length=1, max_length=2000, description="any SQLAlchemy URL; a password in it is "
                     "stored encrypted")


class ConnectionTest(BaseModel):
    ok: bool
    message: str
    instance_url: str | None = None
    api_usage: str | None = Field(default=None, description="used/max of the daily API allowance")


class Health(BaseModel):
    status: Literal["ok"]
    configured: bool
    problem: str | None = None
    running_run_id: int | None = None
