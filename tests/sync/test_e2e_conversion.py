"""Lead conversion followed, and lifecycle events (won, lost, owner transferred), against the sandbox."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session
from sync_helpers import lead_flow

from salesbridge.store import repository as repo
from salesbridge.store.models import Event, Link


def converting_flow(**overrides):
    return lead_flow(conversion={"to": "Opportunity",
                                 "fields": {"Name": "company", "StageName": {"app": "stage", "values": "stages"}}},
                     **overrides)


def events(setup, kind=None):
    with Session(setup.hub.engine) as session:
        query = select(Event).order_by(Event.id)
        if kind:
            query = query.where(Event.kind == kind)
        return [(e.kind, e.app_key, e.details) for e in session.scalars(query)]


def link_of(setup, app_key):
    with Session(setup.hub.engine) as session:
        link = session.scalar(select(Link).where(Link.app_key == str(app_key)))
        return link.sf_object, link.sf_id


def test_converted_lead_moves_the_link_to_its_opportunity_and_keeps_syncing_there(make_setup):
    setup = make_setup([converting_flow()])
    setup.app_exec("INSERT INTO leads (first_name, last_name, company, email, stage) "
                   "VALUES ('Grace', 'Hopper', 'Navy Labs', 'grace@navy.example', 'Qualified')")
    setup.hub.sync()
    (lead,) = setup.sf_leads()
    app_key = setup.app_rows()[0]["id"]

    result = setup.client.convert_lead(lead["Id"], "Closed - Converted", opportunity_name="Navy Labs deal")
    report = setup.hub.sync()

    assert report.status == "succeeded", report.errors
    assert link_of(setup, app_key) == ("Opportunity", result["opportunityId"])
    (converted,) = events(setup, "converted")
    assert converted[1] == str(app_key)
    assert converted[2]["opportunity_id"] == result["opportunityId"]
    assert converted[2]["contact_id"] == result["contactId"]
    assert setup.app_rows()[0]["company"] == "Navy Labs deal", "the row now follows the Opportunity's values"
    assert setup.app_rows()[0]["stage"] == "New"  # the new Opportunity's first stage, Prospecting

    setup.app_exec("UPDATE leads SET stage = 'Won' WHERE id = :k", k=app_key)
    report = setup.hub.sync()
    assert report.results[0].written_to_salesforce == 1 and report.results[0].failed == 0
    opportunity = setup.client.get("Opportunity", result["opportunityId"])
    assert opportunity["StageName"] == "Closed Won" and opportunity["IsWon"] is True
    assert [e[0] for e in events(setup) if e[0] in ("won", "lost")] == ["won"]

    quiet = setup.hub.sync()
    assert quiet.written == 0
    assert quiet.api_calls == 2, "one query per lane: the leads, and the opportunities they became"
    assert len(setup.app_rows()) == 1, "the converted lead is never imported as a new row"


def test_opportunity_won_and_lost_in_salesforce_are_recorded(make_setup):
    setup = make_setup([converting_flow()])
    setup.app_exec("INSERT INTO leads (last_name, company, stage) VALUES ('A', 'Alpha', 'New'), "
                   "('B', 'Beta', 'New')")
    setup.hub.sync()
    opportunities = []
    for lead in setup.sf_leads():
        opportunities.append(setup.client.convert_lead(lead["Id"], "Closed - Converted")["opportunityId"])
    setup.hub.sync()

    setup.client.update("Opportunity", [{"Id": opportunities[0], "StageName": "Closed Won"},
                                        {"Id": opportunities[1], "StageName": "Closed Lost"}])
    setup.hub.sync()

    kinds = sorted(e[0] for e in events(setup) if e[0] in ("won", "lost"))
    assert kinds == ["lost", "won"]
    assert sorted(row["stage"] for row in setup.app_rows()) == ["Lost", "Won"]


def test_conversion_without_opportunity_records_the_event_and_keeps_the_lead_link(make_setup):
    setup = make_setup([converting_flow()])
    setup.app_exec("INSERT INTO leads (last_name, company, stage) VALUES ('A', 'Alpha', 'New')")
    setup.hub.sync()
    (lead,) = setup.sf_leads()
    setup.client.convert_lead(lead["Id"], "Closed - Converted", do_not_create_opportunity=True)

    setup.hub.sync()

    (converted,) = events(setup, "converted")
    assert converted[2]["opportunity_id"] is None and "moved_to" not in converted[2]
    assert link_of(setup, setup.app_rows()[0]["id"]) == ("Lead", lead["Id"])
    assert len(setup.app_rows()) == 1


def test_owner_transferred_in_salesforce_is_recorded(make_setup):
    flow = lead_flow()
    flow["fields"]["OwnerId"] = "owner_id"
    setup = make_setup([flow])
    setup.app_exec("INSERT INTO leads (last_name, company, stage) VALUES ('A', 'Alpha', 'New')")
    setup.hub.sync()
    (lead,) = setup.sf_leads()
    manager = setup.client.find_user("sales.manager@sandbox.example")["Id"]

    setup.client.update("Lead", [{"Id": lead["Id"], "OwnerId": manager}])
    setup.hub.sync()

    (transfer,) = events(setup, "owner_changed")
    assert transfer[2]["to"] == manager and transfer[2]["from"] != manager
    with Session(setup.hub.engine) as session:
        assert repo.list_events_after(session, flow="leads", kinds=["owner_changed"])
