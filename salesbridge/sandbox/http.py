"""What every sandbox router shares: the org, the authenticated user, and Salesforce-shaped answers.

Routers declare ``org: OrgDep`` and ``user_id: UserDep`` parameters; a missing or expired bearer token answers
401 ``[{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]`` (simple-salesforce reads
``[0]['errorCode']`` to decide to log in again).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse, Response

from salesbridge.sandbox.errors import SandboxApiError
from salesbridge.sandbox.org import Org


def get_org(request: Request) -> Org:
    return request.app.state.org


def get_user_id(request: Request) -> str:
    """The user id behind the request's bearer token, or 401 INVALID_SESSION_ID.

    The API limit middleware has usually resolved the token already (it counts only valid sessions); its answer
    is reused rather than looked up twice.
    """
    org: Org = request.app.state.org
    known = request.scope.get("state", {}).get("sandbox_user_id")
    if known is not None:
        return known
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() not in ("bearer", "oauth") or not token:
        raise SandboxApiError("INVALID_SESSION_ID", "Session expired or invalid", status=401)
    user_id = org.sessions.user_for_token(token.strip())
    if user_id is None:
        raise SandboxApiError("INVALID_SESSION_ID", "Session expired or invalid", status=401)
    return user_id


OrgDep = Annotated[Org, Depends(get_org)]
UserDep = Annotated[str, Depends(get_user_id)]


def error_response(error: SandboxApiError) -> JSONResponse:
    """A REST error answer: a JSON list of one error."""
    return JSONResponse([error.as_rest()], status_code=error.status)


def json_response(body: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status)


def no_content() -> Response:
    return Response(status_code=204)
