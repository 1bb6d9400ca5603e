"""The sandbox's HTTP application: one FastAPI app composed of small routers.

Middleware, outermost first: fault injection (latency, 5xx) for API requests, then the API limit (counting,
REQUEST_LIMIT_EXCEEDED, ``Sforce-Limit-Info``). Routers: OAuth, SOAP, admin, and the REST, Bulk, files and lead
conversion routers, each declaring its own full paths (``/services/data/v{version}/...``).
"""

from __future__ import annotations

from fastapi import FastAPI, Request

from salesbridge.sandbox import admin, bulk, convert, files, oauth, rest, soap
from salesbridge.sandbox.errors import SandboxApiError
from salesbridge.sandbox.faults import FaultMiddleware
from salesbridge.sandbox.http import error_response
from salesbridge.sandbox.limits import ApiLimitMiddleware
from salesbridge.sandbox.org import Org


def create_app(org: Org) -> FastAPI:
    app = FastAPI(title="salesbridge sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.org = org

    @app.exception_handler(SandboxApiError)
    async def _api_error(request: Request, error: SandboxApiError):  # noqa: ANN202
        return error_response(error)

    # Paths no router serves answer Salesforce's 404 list (simple-salesforce reads [0]['errorCode']).
    app.add_exception_handler(404, rest.not_found_handler)
    # Specific paths before the REST resource table: files' ``sobjects/ContentVersion/{id}/VersionData`` would
    # otherwise be taken by REST's ``sobjects/{sobject}/{field}/{value}``.
    for router in (oauth.router, soap.router, admin.router, convert.router, files.router, bulk.router,
                   rest.router):
        app.include_router(router)

    # Added last = outermost: faults run before the limit counts the request.
    app.add_middleware(ApiLimitMiddleware, org=org)
    app.add_middleware(FaultMiddleware, org=org)
    return app
