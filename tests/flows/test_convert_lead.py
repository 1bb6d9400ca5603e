"""Lead conversion from the hub against the sandbox: with and without an Opportunity, into an existing
Account, with a notification, refused for a converted Lead, and the ``salesbridge convert-lead`` command."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from salesbridge.cli import app
from salesbridge.flows.convert import LeadConversionError, convert_lead
from salesbridge.salesforce import LoginSettings, SalesforceClient
from salesbridge.sandbox.convert import notifications
from salesbridge.sandbox.server import RunningSandbox
from salesbridge.store.db import migrate, open_store
from salesbridge.store.mail_models import CardLink
from salesbridge.store.models import Event

STATUS = "Closed - Converted"


@pytest.fixture
def client(sandbox: RunningSandbox) -> Iterator[SalesforceClient]:
    client = SalesforceClient(
        LoginSettings(
            login_url=sandbox.url,
            flow="password",
            client_id="salesbridge",
            client_secret="salesbridge-secret",
            username="admin@sandbox.example",
            password="sandbox-pass",
            verify=str(sandbox.ca_path),
        )
    )
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def hub_db(tmp_path: Path) -> Iterator[Engine]:
    engine = open_store(f"sqlite:///{tmp_path / 'hub.db'}")
    migrate(engine)
    try:
        yield engine
    finally:
        engine.dispose()


def new_lead(client: SalesforceClient, **fields: object) -> str:
    [result] = client.create(
        "Lead",
        [
            {
                "LastName": "Quinn",
                "FirstName": "Quin",
                "Company": "Quill Co",
                "Email": "quin@quill.example",
                **fields,
            }
        ],
    )
    assert result.success and result.id
    return result.id


def test_a_lead_becomes_a_contact_at_a_new_account_with_an_opportunity(
    client: SalesforceClient, sandbox: RunningSandbox, hub_db: Engine
) -> None:
    lead_id = new_lead(client)
    result = convert_lead(
        client, lead_id, converted_status=STATUS, opportunity_name="Quill renewal", engine=hub_db
    )

    lead = client.get(
        "Lead",
        lead_id,
        ["IsConverted", "Status", "ConvertedContactId", "ConvertedAccountId", "ConvertedOpportunityId"],
    )
    assert lead == {
        **lead,
        "IsConverted": True,
        "Status": STATUS,
        "ConvertedContactId": result.contact_id,
        "ConvertedAccountId": result.account_id,
        "ConvertedOpportunityId": result.opportunity_id,
    }
    contact = client.get("Contact", result.contact_id, ["LastName", "Email", "AccountId"])
    assert (contact["LastName"], contact["Email"], contact["AccountId"]) == (
        "Quinn",
        "quin@quill.example",
        result.account_id,
    )
    assert client.get("Account", result.account_id, ["Name"])["Name"] == "Quill Co"
    opportunity = client.get("Opportunity", result.opportunity_id or "", ["Name", "AccountId"])
    assert (opportunity["Name"], opportunity["AccountId"]) == ("Quill renewal", result.account_id)
    assert notifications(sandbox.org) == []
    with Session(hub_db) as session:
        [event] = session.scalars(select(Event)).all()
    assert (event.flow, event.kind, event.sf_id, event.details["contactId"]) == (
        "convert_lead",
        "converted",
        lead_id,
        result.contact_id,
    )


def test_without_an_opportunity_into_an_existing_account_with_a_notification(
    client: SalesforceClient, sandbox: RunningSandbox
) -> None:
    account_id = client.create("Account", [{"Name": "Existing Ltd"}])[0].id
    lead_id = new_lead(client)
    result = convert_lead(
        client,
        lead_id,
        converted_status=STATUS,
        account_id=account_id,
        create_opportunity=False,
        notify_owner=True,
    )
    assert result.account_id == account_id and result.opportunity_id is None
    assert client.query_all("SELECT Id FROM Opportunity") == []
    assert client.get("Contact", result.contact_id, ["AccountId"])["AccountId"] == account_id
    [sent] = notifications(sandbox.org)
    assert (sent["leadId"], sent["contactId"], sent["opportunityId"]) == (lead_id, result.contact_id, None)


def test_a_converted_lead_is_never_converted_again(client: SalesforceClient) -> None:
    lead_id = new_lead(client)
    first = convert_lead(client, lead_id, converted_status=STATUS, create_opportunity=False)
    with pytest.raises(LeadConversionError) as refused:
        convert_lead(client, lead_id, converted_status=STATUS)
    assert refused.value.code == "ALREADY_CONVERTED"
    assert first.contact_id in refused.value.message
    assert len(client.query_all("SELECT Id FROM Contact")) == 1
    assert client.query_all("SELECT Id FROM Opportunity") == []


def test_salesforce_refusals_and_unknown_leads_are_clear_errors(client: SalesforceClient) -> None:
    lead_id = new_lead(client)
    with pytest.raises(LeadConversionError) as bad_status:
        convert_lead(client, lead_id, converted_status="Working - Contacted")
    assert bad_status.value.code == "INVALID_STATUS"
    assert client.get("Lead", lead_id, ["IsConverted"])["IsConverted"] is False
    with pytest.raises(LeadConversionError) as missing:
        convert_lead(client, "00Q000000000000AAA", converted_status=STATUS)
    assert missing.value.code == "NOT_FOUND"


def test_cards_linked_to_the_lead_follow_the_contact(client: SalesforceClient, hub_db: Engine) -> None:
    lead_id = new_lead(client)
    with Session(hub_db) as session, session.begin():
        session.add(
            CardLink(
                uid="card-1",
                address_book="http://dav/book/",
                href="http://dav/book/card-1.vcf",
                etag='"1"',
                sf_object="Lead",
                sf_id=lead_id,
                card_hash="x",
                sf_hash="y",
            )
        )
    result = convert_lead(client, lead_id, converted_status=STATUS, create_opportunity=False, engine=hub_db)
    assert result.relinked_cards == 1
    with Session(hub_db) as session:
        link = session.scalars(select(CardLink)).one()
    assert (link.sf_object, link.sf_id, link.sf_hash) == ("Contact", result.contact_id, None)


def test_the_convert_lead_command(tmp_path: Path, sandbox: RunningSandbox, client: SalesforceClient) -> None:
    config = tmp_path / "salesbridge.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "connections": {
                    "salesforce": {
                        "login_url": sandbox.url,
                        "client_id": "salesbridge",
                        "client_secret": "salesbridge-secret",
                        "username": "admin@sandbox.example",
                        "password": "sandbox-pass",
                        "verify": str(sandbox.ca_path),
                    },
                    "app": {"url": f"sqlite:///{tmp_path / 'hub.db'}"},
                }
            }
        )
    )
    lead_id = new_lead(client)
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["convert-lead", lead_id, "--status", STATUS, "--no-opportunity", "--notify", "-c", str(config)],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    contact_id = client.get("Lead", lead_id, ["ConvertedContactId"])["ConvertedContactId"]
    assert contact_id and contact_id in result.output and "(none)" in result.output
    again = runner.invoke(
        app, ["convert-lead", lead_id, "--status", STATUS, "-c", str(config)], env={"COLUMNS": "200"}
    )
    assert again.exit_code == 1
    assert "ALREADY_CONVERTED" in again.output
    engine = create_engine(f"sqlite:///{tmp_path / 'hub.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT kind FROM sb_events").scalars().all() == ["converted"]
    engine.dispose()
