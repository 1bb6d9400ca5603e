"""The sandbox's HTTP application: one FastAPI app composed of small routers.

SKELETON: routers are added as they are written (auth, rest, bulk, soap, admin).
"""

from __future__ import annotations

from fastapi import FastAPI, Request

from salesbridge.sandbox.errors import SandboxApiError
from salesbridge.sandbox.http import error_response
from salesbridge.sandbox.org import Org


def create_app(org: Org) -> FastAPI:
    app = FastAPI(title="salesbridge sandbox", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.org = org

    @app.exception_handler(SandboxApiError)
    async def _api_error(request: Request, error: SandboxApiError):  # noqa: ANN202
        return error_response(error)

    return app
