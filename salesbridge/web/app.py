"""The web app: the REST API under ``/api`` (OpenAPI at ``/docs`` and ``/openapi.json``) and the admin pages
at ``/``.

    from salesbridge.web import create_web_app, resolve_settings
    app = create_web_app(resolve_settings("salesbridge.yaml"))

``salesbridge serve`` runs it with uvicorn. Everything a request needs is on ``app.state.web`` (a
:class:`~salesbridge.web.state.WebState`): settings, the web database, the config file, the vault, the Hub and
the background runs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from salesbridge.web.api import router as api_router
from salesbridge.web.errors import install_error_handlers
from salesbridge.web.pages import router as pages_router
from salesbridge.web.settings import WebSettings
from salesbridge.web.state import WebState

DESCRIPTION = """\
REST API of the salesbridge hub.

**Authentication**: an API token as `Authorization: Bearer <token>` (create one under `/api/auth/tokens`, or
`salesbridge users token NAME`), or a browser session from `POST /api/auth/login`. With a session, every
POST/PUT/PATCH/DELETE needs the `X-CSRF-Token` header (its value comes with the login and `/api/auth/me`).

**Roles**: *viewer* reads runs, errors, conflicts, records and the budget; *operator* also runs syncs and
retries or ignores errors; *admin* also configures connections, flows and accounts. Anonymous: 401; too small
a role: 403.
"""


def create_web_app(settings: WebSettings, *, state: WebState | None = None) -> FastAPI:
    """Build the app. ``state`` may be given to share one WebState (tests); otherwise one is made from
    ``settings`` (opening and migrating the web database)."""
    web = state or WebState(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        web.close()

    app = FastAPI(title="salesbridge", version="0.1.0", description=DESCRIPTION, lifespan=lifespan,
                  docs_url="/docs", redoc_url=None, openapi_url="/openapi.json")
    app.state.web = web
    install_error_handlers(app)
    app.include_router(api_router)
    app.include_router(pages_router)
    return app
