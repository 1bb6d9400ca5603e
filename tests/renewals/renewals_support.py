"""What the renewal tests share besides fixtures: the config of a hub with the renewal recipe."""

from __future__ import annotations

from typing import Any

from api_support import connections

from salesbridge.flows.renewals.recipe import with_renewals
from salesbridge.sandbox.server import RunningSandbox


def renewals_config(org: RunningSandbox, url: str, **options: Any) -> dict[str, Any]:
    """The recipe against ``org`` (the admin's password login) on the app database ``url``."""
    return with_renewals(connections(org, url), **options)
