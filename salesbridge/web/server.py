"""``salesbridge serve``: the web app under uvicorn, with keys resolved and the first admin made if asked."""

from __future__ import annotations

import logging
import os

import uvicorn

from salesbridge.web import accounts
from salesbridge.web.app import create_web_app
from salesbridge.web.settings import resolve_settings
from salesbridge.web.state import WebState

log = logging.getLogger(__name__)

ADMIN_USER_VARIABLE = "SALESBRIDGE_ADMIN_USER"
ADMIN_PASSWORD_VARIABLE = "SALESBRIDGE_ADMIN_PASSWORD"


def bootstrap_admin(state: WebState, username: str | None, password: str | None) -> bool:
    """Make the first admin when there is no account yet; True when one was made.

    With accounts already there, nothing happens (``--create-admin`` on every start is harmless).
    """
    with state.session() as session:
        if accounts.list_users(session):
            return False
        if not username or not password:
            log.warning("there is no account yet: run 'salesbridge users add NAME --role admin', or start "
                        "with --create-admin NAME (password from %s)", ADMIN_PASSWORD_VARIABLE)
            return False
        accounts.create_user(session, username, password, "admin")
    log.warning("created the first admin account '%s'", username)
    return True


def serve(config_path: str | None, database_url: str | None, host: str, port: int, *,
          create_admin: str | None = None, admin_password: str | None = None,
          cookie_secure: bool = False) -> None:
    """Run the web app in the foreground until interrupted."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = resolve_settings(config_path, database_url, generate_keys=True, cookie_secure=cookie_secure)
    log.info("config file %s, web database %s", settings.config_path, settings.database_url)
    state = WebState(settings)
    bootstrap_admin(state, create_admin or os.environ.get(ADMIN_USER_VARIABLE),
                    admin_password or os.environ.get(ADMIN_PASSWORD_VARIABLE))
    if host not in ("127.0.0.1", "localhost", "::1") and not cookie_secure:
        log.warning("listening on %s without --secure-cookies: put it behind HTTPS (a reverse proxy) and "
                    "turn them on", host)
    app = create_web_app(settings, state=state)
    uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=True)
