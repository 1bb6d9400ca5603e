"""The REST API under ``/api``: one router per concern, assembled here."""

from __future__ import annotations

from fastapi import APIRouter

from salesbridge.web.api import (
    accounts_api,
    auth_api,
    contracts_api,
    deals_api,
    flows_api,
    mail_contacts_api,
    pipeline_api,
    records_api,
    renewals_api,
    runs_api,
    settings_api,
)

router = APIRouter(prefix="/api")
for module in (auth_api, accounts_api, flows_api, runs_api, records_api, settings_api, mail_contacts_api,
               deals_api, contracts_api, renewals_api, pipeline_api):
    router.include_router(module.router)

__all__ = ["router"]
