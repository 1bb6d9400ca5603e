"""The sandbox's REST API under ``/services/data``: an APIRouter built from the resource table.

Every resource of ``rest_routes.RESOURCES`` becomes one route (with and without a trailing slash, as clients
use both) that accepts every method, so that the first matching path decides and another method answers 405
exactly as a composite subrequest would. Resource functions run in the thread pool: they are CPU work under the
store's lock and must not stall the event loop that serves other clients.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from salesbridge.sandbox.errors import SandboxApiError
from salesbridge.sandbox.http import UserDep
from salesbridge.sandbox.rest_common import RestContext, check_version, error_answer, served_versions
from salesbridge.sandbox.rest_routes import RESOURCES, Resource, call

ROOT = "/services/data"
_METHODS = ["GET", "HEAD", "POST", "PATCH", "DELETE", "PUT"]

router = APIRouter()


@router.get(ROOT)
@router.get(ROOT + "/")
def list_versions(request: Request) -> JSONResponse:
    """``GET /services/data/``: the versions served; no session needed, as on Salesforce."""
    return JSONResponse(served_versions(request.app.state.org))


def _endpoint_for(resource: Resource) -> Callable[..., Awaitable[Response]]:
    """One FastAPI endpoint per resource; FastAPI reads its signature (the session dependency)."""

    async def endpoint(request: Request, user_id: UserDep) -> Response:
        org = request.app.state.org
        params = dict(request.path_params)
        version = params.pop("version")
        try:
            check_version(org, version)
        except SandboxApiError as error:
            return error_answer(error).to_response()
        ctx = RestContext(org=org, user_id=user_id, version=version, query=dict(request.query_params),
                          headers=request.headers, raw_body=await request.body())
        answer = await run_in_threadpool(call, ctx, resource, request.method, params)
        return answer.to_response()

    endpoint.__name__ = "rest" + resource.template.replace("/", "_").replace("{", "").replace("}", "")
    return endpoint


def _paths(template: str) -> list[str]:
    base = f"{ROOT}/v{{version}}"
    if template == "/":
        return [base, base + "/"]
    return [base + template, base + template + "/"]


for _resource in RESOURCES:
    for _path in _paths(_resource.template):
        router.add_api_route(_path, _endpoint_for(_resource), methods=_METHODS, include_in_schema=False)


async def not_found_handler(request: Request, exc: Exception) -> JSONResponse:
    """Unknown paths answer Salesforce's 404 list instead of Starlette's ``{"detail": ...}``."""
    return JSONResponse([{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}],
                        status_code=404)
