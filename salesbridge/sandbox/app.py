"""The sandbox's HTTP application: one FastAPI app composed of small routers.

Middleware, outermost first: fault injection (latency, 5xx) for API requests, then the API limit (counting,
REQUEST_LIMIT_EXCEEDED, ``Sforce-Limit-Info``). Routers: OAuth, SOAP, admin, and the REST, Bulk, files and lead
conversion routers, each declaring its own full paths (``/services/data/v{version}/...``).
"""

from __future__ import annotations

import importlib

from fastapi import APIRouter, FastAPI, Request

from salesbridge.sandbox import admin, oauth, soap
from salesbridge.sandbox.errors import SandboxApiError
from salesbridge.sandbox.faults import FaultMiddleware
from salesbridge.sandbox.http import error_response
from salesbridge.sandbox.limits import ApiLimitMiddleware
from salesbridge.sandbox.org import Org
from salesbridge.sandbox.rest import not_found_handler as rest_not_found_handler

#: Routers written alongside this module; included when present (TODO(server): plain imports once all exist).
#: files comes before rest: its ``sobjects/ContentVersion/{id}/VersionData`` would otherwise be taken by REST's
#: ``sobjects/{sobject}/{field}/{value}``.
_API_ROUTER_MODULES = ("salesbridge.sandbox.files", "salesbridge.sandbox.rest", "salesbridge.sandbox.bulk",
                       "salesbridge.sandbox.convert")


def _optional_router(module_name: str) -> APIRouter | None:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name == module_name:
            return None
        raise
    return getattr(module, "router", None)


def create_app(org: Org) -> FastAPI:
    app = FastAPI(title="salesbridge sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.org = org

    @app.exception_handler(SandboxApiError)
    async def _api_error(request: Request, error: SandboxApiError):  # noqa: ANN202
        return error_response(error)

    # Paths no router serves answer Salesforce's 404 list (simple-salesforce reads [0]['errorCode']).
    app.add_exception_handler(404, rest_not_found_handler)
    app.include_router(oauth.router)
    app.include_router(soap.router)
    app.include_router(admin.router)
    for module_name in _API_ROUTER_MODULES:
        router = _optional_router(module_name)
        if router is not None:
            app.include_router(router)

    # Added last = outermost: faults run before the limit counts the request.
    app.add_middleware(ApiLimitMiddleware, org=org)
    app.add_middleware(FaultMiddleware, org=org)
    return app
