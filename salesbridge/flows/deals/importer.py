"""Opportunities imported from Salesforce as deals, linked to them.

The engine's Opportunity lane syncs only records a deal is already linked to (routed or converted), so an
import is explicit: the chosen Opportunities become deal rows, written as the hub's own writes (nothing to send
back) together with their links, after which the lane keeps them in step both ways.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session

from salesbridge.connectors.sql import hub_writes
from salesbridge.flows.deals.recipe import FLOW_NAME, OPPORTUNITY_STAGE
from salesbridge.flows.deals.registry import DEALS
from salesbridge.salesforce import SalesforceClient
from salesbridge.store import repository as repo


@dataclass
class ImportResult:
    imported: dict[str, int] = field(default_factory=dict)  # Opportunity Id -> deal id
    already_linked: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # Opportunity Id -> why


def import_opportunities(engine: Engine, client: SalesforceClient, partner: str, where: str,
                         stages: dict[str, str] | None = None) -> ImportResult:
    """Import the Opportunities matching ``where`` (a SOQL condition) as deals of ``partner``.

    The partner deal id is the Opportunity Id; the end user is the Opportunity's Contact (``ContactId``); a stage
    without an entry in the stage map is skipped and named, never guessed.
    """
    stage_map = stages if stages is not None else OPPORTUNITY_STAGE["from_salesforce"]
    opportunities = client.query_all("SELECT Id, Name, Amount, CloseDate, StageName, ContactId, Account.Name "
                                     f"FROM Opportunity WHERE {where}")
    contact_ids = sorted({o["ContactId"] for o in opportunities if o.get("ContactId")})
    contacts: dict[str, dict[str, Any]] = {}
    for start in range(0, len(contact_ids), 200):
        ids = ", ".join(f"'{contact_id}'" for contact_id in contact_ids[start:start + 200])
        for contact in client.query_all(f"SELECT Id, FirstName, LastName, Email FROM Contact WHERE Id IN ({ids})"):
            contacts[contact["Id"]] = contact
    result = ImportResult()
    with Session(engine) as session, session.begin():
        hub_writes(session)
        linked = repo.links_by_sf_id(session, FLOW_NAME, [o["Id"] for o in opportunities])
        for opportunity in opportunities:
            sf_id = opportunity["Id"]
            if sf_id in linked:
                result.already_linked.append(sf_id)
                continue
            status = stage_map.get(opportunity["StageName"])
            if status is None:
                result.skipped[sf_id] = f"stage '{opportunity['StageName']}' has no deal status in the stage map"
                continue
            contact = contacts.get(opportunity.get("ContactId") or "", {})
            account = opportunity.get("Account") or {}
            now = datetime.now(UTC)
            values = {"partner": partner, "partner_deal_id": sf_id,
                      "company": account.get("Name") or opportunity["Name"],
                      "end_user_first_name": contact.get("FirstName"),
                      "end_user_last_name": contact.get("LastName") or account.get("Name") or opportunity["Name"],
                      "end_user_email": (contact.get("Email") or "").lower() or None,
                      "title": opportunity["Name"], "amount": opportunity.get("Amount"),
                      "close_date": date.fromisoformat(opportunity["CloseDate"]) if opportunity.get("CloseDate")
                      else None, "status": status, "sf_id": sf_id, "sf_object": "Opportunity",
                      "created_at": now, "updated_at": now}
            session.execute(insert(DEALS).values(**values))
            deal_id = session.execute(select(DEALS.c.id).where(DEALS.c.partner == partner,
                                                               DEALS.c.partner_deal_id == sf_id)).scalar_one()
            repo.save_link(session, FLOW_NAME, deal_id, sf_id, sf_object="Opportunity")
            result.imported[sf_id] = int(deal_id)
    return result
