"""Routing by match: a deal becomes an Opportunity when exactly one Contact matches its email, else a Lead."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from sync_helpers import lead_flow

from salesbridge.store.models import Link

ROUTE = {
    "to": "Opportunity",
    "when_exactly_one": {"object": "Contact", "fields": {"Email": "email"}},
    "set": {"AccountId": "AccountId", "ContactId": "Id"},
    "fields": {"Name": "company", "StageName": {"app": "stage", "values": "stages"}},
    "defaults": {"CloseDate": "2026-12-31", "OwnerId": {"user": "sales.manager@sandbox.example"}},
}


def links(setup):
    with Session(setup.hub.engine) as session:
        return {int(link.app_key): (link.sf_object, link.sf_id) for link in session.scalars(select(Link))}


def test_exactly_one_matching_contact_makes_an_opportunity_otherwise_a_lead(make_setup):
    setup = make_setup([lead_flow(route=ROUTE)])
    (account,) = setup.client.create("Account", [{"Name": "Analytical Engines"}])
    (contact,) = setup.client.create("Contact", [{"LastName": "Lovelace", "Email": "ada@engines.example",
                                                  "AccountId": account.id}])
    setup.client.create("Contact", [{"LastName": "Twin A", "Email": "twin@dup.example"},
                                    {"LastName": "Twin B", "Email": "twin@dup.example"}])
    setup.app_exec("INSERT INTO leads (last_name, company, email, stage) VALUES "
                   "('Lovelace', 'Engines deal', 'ADA@engines.example', 'Qualified'), "
                   "('Twin', 'Dup deal', 'twin@dup.example', 'New'), "
                   "('Nobody', 'Cold deal', 'nobody@cold.example', 'New')")

    report = setup.hub.sync()

    assert report.status == "succeeded", report.errors
    by_key = links(setup)
    assert [by_key[k][0] for k in sorted(by_key)] == ["Opportunity", "Lead", "Lead"]
    opportunity = setup.client.get("Opportunity", by_key[1][1])
    assert opportunity["AccountId"] == account.id and opportunity["ContactId"] == contact.id
    assert opportunity["Name"] == "Engines deal" and opportunity["StageName"] == "Qualification"
    assert opportunity["CloseDate"] == "2026-12-31"
    assert opportunity["OwnerId"] == setup.client.find_user("sales.manager@sandbox.example")["Id"]
    assert sorted(lead["LastName"] for lead in setup.sf_leads()) == ["Nobody", "Twin"]
    assert setup.app_rows()[0]["sf_id"] == by_key[1][1]

    setup.app_exec("UPDATE leads SET stage = 'Won' WHERE id = 1")
    assert setup.hub.sync().results[0].written_to_salesforce == 1
    assert setup.client.get("Opportunity", by_key[1][1])["StageName"] == "Closed Won"
    setup.client.update("Opportunity", [{"Id": by_key[1][1], "Name": "Engines deal (renamed)"}])
    assert setup.hub.sync().results[0].written_to_app == 1
    assert setup.app_rows()[0]["company"] == "Engines deal (renamed)"
    assert setup.hub.sync().written == 0
