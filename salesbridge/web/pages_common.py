"""What every admin page shares: templates, the logged-in person, notices, static files.

Pages are rendered on the server (Jinja2) and work with plain forms; a small script (``static/live.js``) only
refreshes the live parts. Authentication is part A's: the session cookie and the CSRF token of
``salesbridge.web.auth``; a page asked for without a session redirects to the login form instead of
answering 401, and every form carries the session's CSRF token in a hidden field.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from salesbridge.store.web_models import Role
from salesbridge.web.auth import Principal, StateDep, current_principal, optional_principal
from salesbridge.web.state import WebState

_PACKAGE = resources.files("salesbridge.web")
TEMPLATES_DIR = Path(str(_PACKAGE / "templates"))
STATIC_DIR = Path(str(_PACKAGE / "static"))
_STATIC_TYPES = {".css": "text/css", ".js": "text/javascript"}

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))

router = APIRouter(include_in_schema=False)


def _when(value: datetime | None) -> str:
    """A stored UTC time as people read it in a table: ``2026-11-24 19:50:03 UTC``."""
    if value is None:
        return "—"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _number(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else ("—" if value is None else str(value))


templates.env.filters["when"] = _when
templates.env.filters["number"] = _number
templates.env.filters["urlpart"] = lambda value: quote(str(value), safe="")


def page_principal(role: Role) -> Callable[..., Awaitable[Principal]]:
    """The logged-in person with at least ``role``; a visitor without a session goes to the login form.

    Unsafe methods are checked by ``current_principal`` (CSRF token in the form's ``csrf_token`` field).
    """

    async def dependency(request: Request,
                         principal: Annotated[Principal | None, Depends(optional_principal)]) -> Principal:
        if principal is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise HTTPException(status.HTTP_303_SEE_OTHER, detail="log in first",
                                headers={"Location": "/login?" + urlencode({"next": target})})
        principal = await current_principal(request, principal)
        if not principal.has(role):
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail=f"this page needs the {role.value} role; "
                                                                  f"you are {principal.role.value}")
        return principal

    dependency.__name__ = f"page_{role.value}"
    return dependency


ViewerPage = Annotated[Principal, Depends(page_principal(Role.VIEWER))]
OperatorPage = Annotated[Principal, Depends(page_principal(Role.OPERATOR))]
AdminPage = Annotated[Principal, Depends(page_principal(Role.ADMIN))]


def render(request: Request, template: str, principal: Principal | None, *, status_code: int = 200,
           **context: Any) -> HTMLResponse:
    """A full page (or fragment) with what the layout needs: who is logged in, their CSRF token, notices."""
    notice = request.query_params.get("notice")
    error = request.query_params.get("error")
    base = {"principal": principal, "csrf_token": principal.csrf_token if principal else None,
            "notice": notice, "error_notice": error, "path": request.url.path, "Role": Role}
    return templates.TemplateResponse(request, template, {**base, **context}, status_code=status_code)


def redirect(url: str, *, notice: str | None = None, error: str | None = None,
             params: Mapping[str, str] | None = None) -> RedirectResponse:
    """Post/redirect/get: a 303 to ``url`` carrying a one-line notice to show there."""
    query = dict(params or {})
    if notice:
        query["notice"] = notice
    if error:
        query["error"] = error
    separator = "&" if "?" in url else "?"
    return RedirectResponse(url + (separator + urlencode(query) if query else ""), status.HTTP_303_SEE_OTHER)


def web(request: Request) -> WebState:
    return request.app.state.web


@router.get("/static/{name}")
def static_file(name: str) -> Response:
    """The stylesheet and the live-view script (a fixed, flat directory: no paths, no listing)."""
    path = STATIC_DIR / name
    if "/" in name or name.startswith(".") or path.suffix not in _STATIC_TYPES or not path.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such file")
    return FileResponse(path, media_type=_STATIC_TYPES[path.suffix],
                        headers={"Cache-Control": "public, max-age=300"})


__all__ = ["AdminPage", "OperatorPage", "StateDep", "ViewerPage", "redirect", "render", "router", "templates",
           "web"]
