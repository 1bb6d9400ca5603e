"""``/api/budget``, ``/api/config`` and ``/api/connections``: the API allowance, and the integration settings
(admins only). Secret values never leave: exports mask them, connections say only whether each one is set."""

from __future__ import annotations

import json
import os
import re
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response, status
from pydantic import ValidationError
from sqlalchemy.orm import Session

from salesbridge.sync.config import ConfigError, SalesforceConnection, substitute_env
from salesbridge.web import accounts
from salesbridge.web.api.common import AUTH_ERRORS, CONFIG_INVALID, HUB_ERRORS
from salesbridge.web.auth import AdminDep, StateDep, ViewerDep
from salesbridge.web.config_store import ConfigMissing, mask_url, parse_yaml_text
from salesbridge.web.errors import config_problem
from salesbridge.web.schemas import (
    AppConnectionIn,
    AppConnectionOut,
    BudgetOut,
    ConfigText,
    ConfigValidation,
    ConnectionsOut,
    ConnectionTest,
    Problem,
    SalesforceConnectionIn,
    SalesforceConnectionOut,
    SecretState,
)
from salesbridge.web.state import WebState, interactive_client
from salesbridge.web.vault import delete_secret, load_secrets, put_secret, stored_names, variable_name

router = APIRouter(tags=["settings"])
_REFERENCE = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}$")
SALESFORCE_SECRETS = ("client_secret", "password", "security_token")
_YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")
_CONFIG_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": ConfigText.model_json_schema()},
            "application/yaml": {"schema": {"type": "string", "description": "the configuration file"}},
        },
    }
}


@router.get("/budget", response_model=BudgetOut, responses={**AUTH_ERRORS, **HUB_ERRORS})
def budget(_viewer: ViewerDep, state: StateDep) -> BudgetOut:
    """The org's daily API allowance: how much is left, and at which share runs stop (one API call)."""
    config = state.hub_config()
    with state.reader() as client:
        limits = client.limits()
    daily = limits.get("DailyApiRequests") if isinstance(limits, dict) else None
    maximum = daily.get("Max") if isinstance(daily, dict) else None
    remaining = daily.get("Remaining") if isinstance(daily, dict) else None
    used = maximum - remaining if isinstance(maximum, int) and isinstance(remaining, int) else None
    return BudgetOut(max=maximum, remaining=remaining, used=used,
                     used_share=round(used / maximum, 4) if used is not None and maximum else None,
                     stop_share=config.settings.budget_share,
                     limits=limits if isinstance(limits, dict) else {})


# -- the configuration file ----------------------------------------------------------------------------------


@router.get("/config", response_class=Response, responses={
    **AUTH_ERRORS,
    200: {"content": {"application/yaml": {"schema": {"type": "string"}}},
          "description": "the configuration file, secrets masked"},
    404: {"model": Problem, "description": "no configuration file yet"},
})
def export_config(_admin: AdminDep, state: StateDep) -> Response:
    """The configuration as YAML (what ``salesbridge sync -c`` reads), every literal secret masked."""
    try:
        text = state.config.export_yaml()
    except ConfigMissing as error:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=str(error)) from None
    return Response(text, media_type="application/yaml",
                    headers={"Content-Disposition": f'attachment; filename="{state.config.path.name}"'})


@router.put("/config", response_model=ConfigValidation, openapi_extra=_CONFIG_BODY,
            responses={**AUTH_ERRORS, **CONFIG_INVALID, 415: {"model": Problem}})
async def import_config(request: Request, admin: AdminDep, state: StateDep) -> ConfigValidation:
    """Replace the configuration with YAML (a JSON ``{"yaml": ...}`` or the file itself as application/yaml).

    It is validated first; masked secrets (``********``) keep their stored values. The file is then written
    (the previous one kept as ``.bak``) and the hub picks it up."""
    text = await _yaml_body(request)
    config = state.config.import_yaml(text)
    with state.session() as session:
        accounts.audit(session, admin.username, "config.import", flows=[flow.name for flow in config.flows])
    return ConfigValidation(valid=True, flows=[flow.name for flow in config.flows])


@router.post("/config/validate", response_model=ConfigValidation, openapi_extra=_CONFIG_BODY,
             responses={**AUTH_ERRORS, 415: {"model": Problem}})
async def validate_config(request: Request, _admin: AdminDep, state: StateDep) -> ConfigValidation:
    """Check a configuration without saving it: valid, or the first problem with its key path."""
    text = await _yaml_body(request)
    try:
        data = parse_yaml_text(text, str(state.config.path))
        config = state.config.validate(state.config.merge_masked(data))
    except ConfigError as error:
        return ConfigValidation(valid=False, problem=config_problem(error))
    return ConfigValidation(valid=True, flows=[flow.name for flow in config.flows])


async def _yaml_body(request: Request) -> str:
    content_type = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    body = await request.body()
    if content_type in _YAML_TYPES:
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                                detail="the YAML is not UTF-8") from None
    if content_type != "application/json":
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                            detail="send application/json ({\"yaml\": ...}) or application/yaml")
    try:
        return ConfigText.model_validate(json.loads(body or b"null")).yaml
    except (ValueError, ValidationError) as error:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT,
                            detail=f"expected {{\"yaml\": \"...\"}}: {error}") from None


# -- connections ---------------------------------------------------------------------------------------------


@router.get("/connections", response_model=ConnectionsOut, responses={**AUTH_ERRORS, **CONFIG_INVALID})
def connections(_admin: AdminDep, state: StateDep) -> ConnectionsOut:
    """The connections as configured; for each secret only whether it is set and where it comes from."""
    return _connections_out(state)


@router.put("/connections/salesforce", response_model=ConnectionsOut,
            responses={**AUTH_ERRORS, **CONFIG_INVALID})
def put_salesforce(body: SalesforceConnectionIn, admin: AdminDep, state: StateDep) -> ConnectionsOut:
    """Set how to log in to Salesforce. Secrets are stored encrypted and the file refers to them as
    ``${SB_SECRET_...}``; a secret left out keeps the stored one, an empty string removes it."""
    with state.session() as session:
        environ = load_secrets(session, state.box)
        section, changed = _salesforce_section(state, body, session, admin.username, environ)
        environ = {**environ, **_process_environ()}

        def change(data: dict[str, Any]) -> None:
            data.setdefault("connections", {})
            if not isinstance(data["connections"], dict):
                data["connections"] = {}
            data["connections"]["salesforce"] = section

        state.config.edit(change, environ)  # raises before the secrets commit when the result is not valid
        accounts.audit(session, admin.username, "connection.salesforce", secrets_changed=changed)
    state.secrets_changed()
    return _connections_out(state)


@router.put("/connections/app", response_model=ConnectionsOut, responses={**AUTH_ERRORS, **CONFIG_INVALID})
def put_app(body: AppConnectionIn, admin: AdminDep, state: StateDep) -> ConnectionsOut:
    """Set the app database URL; a URL with a password is stored encrypted (the file refers to it)."""
    with state.session() as session:
        environ = load_secrets(session, state.box)
        url = body.url
        variable = variable_name("app.url")
        if _REFERENCE.match(url) is None and mask_url(url) != url:
            put_secret(session, state.box, variable, url, admin.username)
            environ[variable] = url
            url = f"${{{variable}}}"
        environ = {**environ, **_process_environ()}

        def change(data: dict[str, Any]) -> None:
            data.setdefault("connections", {})
            if not isinstance(data["connections"], dict):
                data["connections"] = {}
            data["connections"]["app"] = {"url": url}

        state.config.edit(change, environ)
        accounts.audit(session, admin.username, "connection.app")
    state.secrets_changed()
    return _connections_out(state)


@router.post("/connections/salesforce/test", response_model=ConnectionTest,
             responses={**AUTH_ERRORS, **CONFIG_INVALID})
def test_salesforce(_admin: AdminDep, state: StateDep, body: SalesforceConnectionIn | None = None
                    ) -> ConnectionTest:
    """Log in to Salesforce with the saved connection (or with the one sent, before saving it) and read the
    API usage. A refused login is ``ok: false`` with Salesforce's message, not an HTTP error."""
    if body is None:
        try:
            config = state.config.load()
        except ConfigMissing as error:
            return ConnectionTest(ok=False, message=str(error))
        client = interactive_client(config.connections.salesforce)
    else:
        with state.session() as session:
            environ = {**load_secrets(session, state.box), **_process_environ()}
            section, _ = _salesforce_section(state, body, None, None, environ)
        try:
            connection = SalesforceConnection.model_validate(substitute_env(section, environ=environ))
        except (ValidationError, ConfigError) as error:
            return ConnectionTest(ok=False, message=_first_problem(error))
        client = interactive_client(connection)
    try:
        with client:
            token = client.login()
            client.limits()
            usage = client.org_usage
    except Exception as error:  # any failure to log in is the answer, never a 500
        return ConnectionTest(ok=False, message=f"{type(error).__name__}: {error}")
    return ConnectionTest(ok=True, message="logged in", instance_url=token.instance_url,
                          api_usage=f"{usage[0]}/{usage[1]}" if usage else None)


def _process_environ() -> dict[str, str]:
    return dict(os.environ)


def _first_problem(error: ValidationError | ConfigError) -> str:
    if isinstance(error, ConfigError):
        return str(error)
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg'].removeprefix('Value error, ')}" if where else first["msg"]


def _salesforce_section(state: WebState, body: SalesforceConnectionIn, session: Session | None,
                        by: str | None, environ: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    """The ``connections.salesforce`` mapping for the file, storing new secrets in the vault when ``session``
    is given (else putting them in ``environ`` only, for a test login)."""
    current = _current_salesforce(state)
    section: dict[str, Any] = {"login_url": body.login_url, "flow": body.flow}
    for name in ("client_id", "username"):
        value = getattr(body, name)
        if value:
            section[name] = value
    changed: list[str] = []
    secrets = {name: getattr(body, name) for name in SALESFORCE_SECRETS}
    if body.private_key is not None and "PRIVATE KEY" in body.private_key:
        secrets["private_key"] = body.private_key
    elif body.private_key:
        section["private_key"] = body.private_key
    elif body.private_key is None and current.get("private_key"):
        secrets["private_key"] = None  # keep what is there
    for name, value in secrets.items():
        variable = variable_name(f"salesforce.{name}")
        if value is None:
            if current.get(name) not in (None, ""):
                section[name] = current[name]
            continue
        changed.append(name)
        if value == "":
            if session is not None:
                delete_secret(session, variable)
            environ.pop(variable, None)
            continue
        if session is not None:
            put_secret(session, state.box, variable, value, by)
        environ[variable] = value
        section[name] = f"${{{variable}}}"
    section["verify"] = body.verify
    section["api_version"] = body.api_version
    return section, changed


def _current_salesforce(state: WebState) -> dict[str, Any]:
    try:
        data = state.config.read_raw()
    except (ConfigMissing, ConfigError):
        return {}
    connections = data.get("connections")
    section = connections.get("salesforce") if isinstance(connections, dict) else None
    return section if isinstance(section, dict) else {}


def _secret_state(value: Any, vault: set[str], environ: dict[str, str]) -> SecretState:
    if value in (None, ""):
        return SecretState(set=False, source="none")
    if not isinstance(value, str):
        return SecretState(set=True, source="file")
    match = _REFERENCE.match(value)
    if match is None:
        return SecretState(set=True, source="file")
    name, default = match.group(1), match.group(2)
    if name in environ:
        return SecretState(set=True, source="environment")
    if name in vault:
        return SecretState(set=True, source="vault")
    if default:
        return SecretState(set=True, source="file")
    return SecretState(set=False, source="missing")


def _connections_out(state: WebState) -> ConnectionsOut:
    try:
        data = state.config.read_raw()
    except ConfigMissing:
        return ConnectionsOut(configured=False, salesforce=None, app=None)
    connections = data.get("connections") if isinstance(data.get("connections"), dict) else {}
    with state.session() as session:
        vault = stored_names(session)
    environ = _process_environ()
    salesforce = connections.get("salesforce")
    sf_out = None
    if isinstance(salesforce, dict):
        private_key = salesforce.get("private_key")
        key_is_secret = isinstance(private_key, str) and ("PRIVATE KEY" in private_key or
                                                          _REFERENCE.match(private_key) is not None)
        secrets = {name: _secret_state(salesforce.get(name), vault, environ) for name in SALESFORCE_SECRETS}
        if key_is_secret:
            secrets["private_key"] = _secret_state(private_key, vault, environ)
        sf_out = SalesforceConnectionOut(
            login_url=str(salesforce.get("login_url") or ""), flow=str(salesforce.get("flow") or "password"),
            client_id=_text(salesforce.get("client_id")), username=_text(salesforce.get("username")),
            private_key=None if key_is_secret else _text(private_key),
            verify=verify if isinstance(verify := salesforce.get("verify", True), bool | str) else True,
            api_version=str(salesforce.get("api_version") or "62.0"), secrets=secrets)
    app = connections.get("app")
    app_out = None
    if isinstance(app, dict) and isinstance(app.get("url"), str):
        app_out = AppConnectionOut(url=mask_url(app["url"]))
    return ConnectionsOut(configured=True, salesforce=sf_out, app=app_out)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
