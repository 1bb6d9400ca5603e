"""The admin pages at ``/``: login, the setup wizard, the dashboard and the record view (server-rendered).

One router (``router``) that the web app includes beside the REST API. The pieces live in ``pages_*`` modules:
``pages_common`` (templates, the logged-in person, static files), ``pages_setup`` (the wizard and the config
file), ``pages_dashboard`` (runs, live view, errors, conflicts, budget), ``pages_records`` (record view) and
``pages_mail_contacts`` (the IMAP and CardDAV flows' settings).
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response

from salesbridge.web import auth as web_auth
from salesbridge.web.pages_common import ViewerPage, redirect, render, web
from salesbridge.web.pages_common import router as common_router
from salesbridge.web.pages_contracts import router as contracts_router
from salesbridge.web.pages_dashboard import router as dashboard_router
from salesbridge.web.pages_deals import router as deals_router
from salesbridge.web.pages_mail_contacts import router as mail_contacts_router
from salesbridge.web.pages_pipeline import router as pipeline_router
from salesbridge.web.pages_records import router as records_router
from salesbridge.web.pages_renewals import router as renewals_router
from salesbridge.web.pages_setup import router as setup_router

router = APIRouter(include_in_schema=False)


def _next_page(value: object) -> str:
    """Where to go after logging in: a page of this app, never another site."""
    if isinstance(value, str) and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:  # noqa: A002 - the query parameter's name
    state = web(request)
    principal = web_auth.optional_principal(request, state)
    if principal is not None:
        return redirect(_next_page(next))
    return render(request, "login.html", None, title="Log in", next_url=_next_page(next), username="",
                  problem=None)


@router.post("/login")
async def login_submit(request: Request) -> Response:
    state = web(request)
    form = await request.form()
    username = str(form.get("username") or "")
    password = str(form.get("password") or "")
    target = _next_page(form.get("next"))
    response = redirect(target)
    try:
        web_auth.login(state, response, username, password, web_auth.cookie_secure(state, request),
                       client=request.client.host if request.client else None)
    except HTTPException:
        return render(request, "login.html", None, status_code=401, title="Log in", next_url=target,
                      username=username, problem="Wrong username or password.")
    return response


@router.post("/logout")
def logout_submit(request: Request, principal: ViewerPage) -> Response:
    response = redirect("/login", notice="Logged out.")
    web_auth.logout(web(request), request, response)
    return response


for _part in (common_router, setup_router, dashboard_router, records_router, deals_router, contracts_router,
              renewals_router, pipeline_router, mail_contacts_router):
    router.include_router(_part)

__all__ = ["router"]
