"""Operator endpoints under ``/sandbox/admin`` for tests and demos (no Salesforce equivalent).

Every endpoint but ``health`` needs a valid session's bearer token, like the API itself. They change settings
(API limit, token lifetime), inject faults, expire sessions, move the org's clock and wipe records. Settings
changed here last until the server stops; the config file is the lasting source.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from salesbridge.sandbox.errors import SandboxApiError
from salesbridge.sandbox.faults import FaultSettings
from salesbridge.sandbox.http import OrgDep, UserDep
from salesbridge.sandbox.org import Org

router = APIRouter(prefix="/sandbox/admin")

#: Settings the admin endpoint may change at run time.
_MUTABLE_SETTINGS = {"daily_api_limit": int, "token_ttl_seconds": int}


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = await request.json() if await request.body() else {}
    except ValueError:
        raise SandboxApiError("JSON_PARSER_ERROR", "The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise SandboxApiError("JSON_PARSER_ERROR", "Expected a JSON object")
    return body


def _status(org: Org) -> dict[str, Any]:
    return {
        "settings": org.settings.public_dict(),
        "faults": org.faults.describe(),
        "api_usage": {"used": org.api_usage.used, "maximum": org.api_usage.maximum,
                      "remaining": org.api_usage.remaining},
        "now": org.clock.peek().isoformat(),
    }


@router.get("/health")
def health(org: OrgDep) -> dict[str, Any]:
    return {"status": "ok", "organization_id": org.organization_id, "api_version": org.api_version}


@router.get("/settings")
def get_settings(org: OrgDep, user_id: UserDep) -> dict[str, Any]:
    return _status(org)


@router.post("/settings")
async def set_settings(request: Request, org: OrgDep, user_id: UserDep) -> dict[str, Any]:
    """Change ``daily_api_limit`` and/or ``token_ttl_seconds``; unknown keys are refused."""
    body = await _json_object(request)
    for key, value in body.items():
        expected = _MUTABLE_SETTINGS.get(key)
        if expected is None:
            raise SandboxApiError("INVALID_FIELD", f"cannot change setting {key!r} (allowed: "
                                  f"{', '.join(_MUTABLE_SETTINGS)})", fields=[key])
        if not isinstance(value, expected) or isinstance(value, bool) or value < (0 if key == "daily_api_limit"
                                                                                   else 1):
            raise SandboxApiError("INVALID_FIELD", f"{key} must be a positive integer", fields=[key])
    for key, value in body.items():
        setattr(org.settings, key, value)
    return _status(org)


@router.get("/faults")
def get_faults(org: OrgDep, user_id: UserDep) -> dict[str, Any]:
    return org.faults.describe()


@router.post("/faults")
async def set_faults(request: Request, org: OrgDep, user_id: UserDep) -> dict[str, Any]:
    """Replace the fault settings; ``expire_sessions`` and ``exhaust_limits`` act once, now.

    Sessions are expired after the answer is computed so the caller's own token is ended too (as with
    ``expire-sessions``); use a new login afterwards.
    """
    body = await _json_object(request)
    expire = bool(body.pop("expire_sessions", False))
    exhaust = bool(body.pop("exhaust_limits", False))
    try:
        settings = FaultSettings(**body)
    except (TypeError, ValueError) as error:
        raise SandboxApiError("INVALID_FIELD", f"bad fault settings: {error}") from None
    org.settings.faults = settings
    org.faults.configure(settings)
    if exhaust:
        await run_in_threadpool(org.api_usage.exhaust)
    if expire:
        await run_in_threadpool(org.sessions.expire_all)
    return {**asdict(settings), "expire_sessions": expire, "exhaust_limits": exhaust}


@router.post("/expire-sessions")
def expire_sessions(org: OrgDep, user_id: UserDep) -> dict[str, Any]:
    """End every access token issued so far (refresh tokens stay valid)."""
    org.sessions.expire_all()
    return {"expired": True}


@router.post("/advance-clock")
async def advance_clock(request: Request, org: OrgDep, user_id: UserDep) -> dict[str, Any]:
    """Move the org's clock forward by ``seconds`` (affects stamps, session expiry, the API usage window)."""
    body = await _json_object(request)
    seconds = body.get("seconds")
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
        raise SandboxApiError("INVALID_FIELD", "seconds must be a non-negative number", fields=["seconds"])
    org.clock.advance(float(seconds))
    return {"now": org.clock.peek().isoformat()}


@router.post("/reset")
def reset(org: OrgDep, user_id: UserDep) -> dict[str, Any]:
    """Wipe every record except users, and the API usage; sessions stay valid."""
    removed = org.store.delete_all(keep_objects=("User",))
    org.api_usage.reset()
    return {"deleted_records": removed}
