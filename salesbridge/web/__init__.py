"""The web admin and REST API (``salesbridge serve``): accounts and roles, the dashboard's data, the settings.

- ``app``: ``create_web_app(settings)``; ``settings``: ``WebSettings`` and ``resolve_settings``.
- ``auth`` (dependencies: sessions, API tokens, roles, CSRF), ``accounts`` (users, tokens, sessions).
- ``config_store`` (the YAML file as source, secrets masked), ``vault`` (secrets encrypted with Fernet).
- ``state`` (the Hub per config version), ``background`` (syncs in a thread, live progress).
- ``api/``: the routers under ``/api``; ``pages*``, ``templates/``, ``static/``: the admin pages.

The names below are imported on first use, so that the CLI can reach ``salesbridge.web.cli_users`` without
loading FastAPI.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from salesbridge.web.app import create_web_app
    from salesbridge.web.settings import WebSettings, resolve_settings

__all__ = ["WebSettings", "create_web_app", "resolve_settings"]


def __getattr__(name: str) -> Any:
    if name == "create_web_app":
        from salesbridge.web.app import create_web_app

        return create_web_app
    if name in ("WebSettings", "resolve_settings"):
        from salesbridge.web import settings

        return getattr(settings, name)
    raise AttributeError(f"module 'salesbridge.web' has no attribute {name!r}")
