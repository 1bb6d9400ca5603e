"""Lead conversion from the hub: a Lead becomes a Contact at an Account (new, or an existing one), with a
converted status, optionally a new Opportunity and a notification e-mail to the owner.

Salesforce converts (SOAP ``convertLead`` through the client); the hub adds what an integration needs around
it:

- a Lead that is already converted is refused before any write, with what it was converted into (Salesforce
  itself refuses it too, and a converted Lead can never be turned back into an open one, so the hub never
  tries to undo or repeat a conversion);
- address book cards linked to the Lead (contacts flow) now follow the Contact, so the card's next edit goes
  to the person's new record rather than failing on the converted Lead;
- a ``converted`` event is recorded (``sb_events``), for event rules and the run log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from salesbridge.salesforce import SalesforceClient, soql_quote
from salesbridge.store import repository as repo
from salesbridge.store.mail_models import CardLink
from salesbridge.store.models import EventKind

#: Flow name under which conversions are recorded as events.
FLOW = "convert_lead"


class LeadConversionError(Exception):
    """The conversion was refused (by the hub's checks or by Salesforce); ``code`` is Salesforce-style."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ConversionResult:
    lead_id: str
    account_id: str
    contact_id: str
    opportunity_id: str | None
    relinked_cards: int = 0


def convert_lead(
    client: SalesforceClient,
    lead_id: str,
    *,
    converted_status: str,
    account_id: str | None = None,
    create_opportunity: bool = True,
    opportunity_name: str | None = None,
    notify_owner: bool = False,
    engine: Engine | None = None,
) -> ConversionResult:
    """Convert one Lead; with ``engine`` (the hub's database) linked cards move to the Contact and an event is
    recorded. Raises LeadConversionError when the Lead is missing or converted already, or Salesforce refuses.
    """
    from salesbridge.salesforce import SalesforceError

    if not converted_status.strip():
        raise LeadConversionError(
            "INVALID_STATUS", "a converted status is required (e.g. 'Closed - Converted')"
        )
    lead = _read_lead(client, lead_id)
    if lead.get("IsConverted"):
        raise LeadConversionError(
            "ALREADY_CONVERTED",
            f"lead {lead['Id']} was converted on {lead.get('ConvertedDate')} into contact "
            f"{lead.get('ConvertedContactId')}; a converted lead is never converted again",
        )
    try:
        answer = client.convert_lead(
            lead["Id"],
            converted_status,
            account_id=account_id,
            do_not_create_opportunity=not create_opportunity,
            opportunity_name=opportunity_name if create_opportunity else None,
            send_notification_email=notify_owner,
        )
    except SalesforceError as error:
        raise LeadConversionError(error.error_code, error.message) from None
    result = ConversionResult(
        lead_id=lead["Id"],
        account_id=answer["accountId"],
        contact_id=answer["contactId"],
        opportunity_id=answer.get("opportunityId"),
    )
    if engine is not None:
        result = _after_conversion(engine, result, converted_status)
    return result


def _read_lead(client: SalesforceClient, lead_id: str) -> dict[str, Any]:
    records = client.query_all(
        "SELECT Id, IsConverted, ConvertedDate, ConvertedContactId FROM Lead "
        f"WHERE Id = {soql_quote(lead_id)}"
    )
    if not records:
        raise LeadConversionError("NOT_FOUND", f"no Lead with Id {lead_id}")
    return records[0]


def _after_conversion(engine: Engine, result: ConversionResult, status: str) -> ConversionResult:
    with Session(engine) as session, session.begin():
        moved = 0
        for link in session.scalars(select(CardLink).where(CardLink.sf_id == result.lead_id)):
            link.sf_object = "Contact"
            link.sf_id = result.contact_id
            link.sf_hash = None  # the Contact's values are read and compared on the next contacts run
            moved += 1
        repo.record_event(
            session,
            None,
            FLOW,
            EventKind.CONVERTED,
            sf_id=result.lead_id,
            details={
                "status": status,
                "accountId": result.account_id,
                "contactId": result.contact_id,
                "opportunityId": result.opportunity_id,
            },
        )
    return ConversionResult(
        result.lead_id, result.account_id, result.contact_id, result.opportunity_id, moved
    )
