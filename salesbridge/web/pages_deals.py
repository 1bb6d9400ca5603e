"""The Deals page: registered partner deals with their Salesforce twin, a register form, approve and "sync now".

The writes go through the same registry as ``/api/deals``, so the page and the API refuse the same duplicates.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from fastapi import APIRouter, Request
from fastapi.responses import Response

from salesbridge.flows.deals import registry
from salesbridge.flows.deals.recipe import FLOW_NAME, STATUSES
from salesbridge.flows.deals.registry import DealError, NewDeal
from salesbridge.store.web_models import Role
from salesbridge.web.background import RunInProgress
from salesbridge.web.pages_common import OperatorPage, ViewerPage, redirect, render, web
from salesbridge.web.state import HubUnavailable

router = APIRouter(include_in_schema=False)
DEALS_SHOWN = 200
_REQUIRED = ("partner", "partner_deal_id", "company", "end_user_last_name", "title")


@router.get("/deals")
def deals_page(request: Request, principal: ViewerPage) -> Response:
    state = web(request)
    try:
        deals = registry.list_deals(state.hub().engine, limit=DEALS_SHOWN)
        flow_configured = any(flow.name == FLOW_NAME for flow in state.hub_config().flows)
    except HubUnavailable as error:
        return render(request, "message.html", principal, status_code=503, title="The hub is not ready",
                      message=str(error))
    return render(request, "deals.html", principal, title="Deals", deals=deals, statuses=STATUSES,
                  can_run=principal.has(Role.OPERATOR), flow_configured=flow_configured)


@router.post("/deals")
async def register_deal(request: Request, principal: OperatorPage) -> Response:
    form = await request.form()
    values = {name: str(form.get(name) or "").strip() for name in
              (*_REQUIRED, "end_user_first_name", "end_user_email", "amount", "close_date")}
    missing = [name.replace("_", " ") for name in _REQUIRED if not values[name]]
    if missing:
        return redirect("/deals", error=f"Fill in: {', '.join(missing)}.")
    try:
        amount = Decimal(values["amount"]) if values["amount"] else None
        close_date = date.fromisoformat(values["close_date"]) if values["close_date"] else None
    except (InvalidOperation, ValueError):
        return redirect("/deals", error="Amount is a number and close date a date (YYYY-MM-DD).")
    deal = NewDeal(partner=values["partner"], partner_deal_id=values["partner_deal_id"], company=values["company"],
                   end_user_last_name=values["end_user_last_name"], title=values["title"],
                   end_user_first_name=values["end_user_first_name"] or None,
                   end_user_email=values["end_user_email"] or None, amount=amount, close_date=close_date)
    try:
        created = registry.register(web(request).hub().engine, deal)
    except (DealError, HubUnavailable) as error:
        return redirect("/deals", error=f"Not registered: {error}")
    return redirect("/deals", notice=f"Deal {created['id']} registered.")


@router.post("/deals/{deal_id}/status")
async def change_status(deal_id: int, request: Request, principal: OperatorPage) -> Response:
    form = await request.form()
    try:
        deal = registry.set_status(web(request).hub().engine, deal_id, str(form.get("status") or ""))
    except (DealError, HubUnavailable) as error:
        return redirect("/deals", error=str(error))
    return redirect("/deals", notice=f"Deal {deal_id} is {deal['status']}.")


@router.post("/deals/{deal_id}/sync")
def sync_deal(deal_id: int, request: Request, principal: OperatorPage) -> Response:
    """The "sync now" button: this deal only, in the request."""
    state = web(request)
    try:
        state.hub_config().flow(FLOW_NAME)
        registry.get(state.hub().engine, deal_id)
        report = state.runs.run_now(state.hub(), lambda hub: hub.sync_record(FLOW_NAME, app_key=str(deal_id)))
        registry.record_salesforce_objects(state.hub().engine)
    except RunInProgress as error:
        return redirect("/deals", error=str(error))
    except Exception as error:  # noqa: BLE001 - no deal flow, Salesforce down...: shown on the page, not a 500
        return redirect("/deals", error=f"Not synced: {error}")
    if report.errors or report.failed:
        problem = "; ".join(report.errors.values()) or "the deal failed: see the errors on the dashboard"
        return redirect("/deals", error=f"Run {report.run_id}: {problem}")
    return redirect("/deals", notice=f"Deal {deal_id} synced (run {report.run_id}): {report.written} written.")
