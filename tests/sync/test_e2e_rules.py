"""Integration rules end to end against the sandbox: default owners, the sync flag and match rules."""

from __future__ import annotations

from sqlalchemy.orm import Session
from sync_helpers import lead_flow, lead_values

from salesbridge.store import repository as repo
from salesbridge.sync.check import check_hub

MANAGER = "sales.manager@sandbox.example"


def add_rows(setup, *rows):
    for last, company, email in rows:
        setup.app_exec("INSERT INTO leads (last_name, company, email, stage) VALUES (:l, :c, :e, 'New')",
                       l=last, c=company, e=email)


def user_id(setup, username):
    return setup.client.find_user(username)["Id"]


def owners(setup):
    soql = "SELECT LastName, OwnerId FROM Lead"
    return {r["LastName"]: r["OwnerId"] for r in setup.client.query_all(soql)}


def test_default_owner_by_user_and_by_rule(make_setup):
    setup = make_setup([lead_flow(defaults={"OwnerId": {
        "user": MANAGER, "rules": [{"when": {"company": "Navy Labs"}, "user": "admin@sandbox.example"}]}})])
    add_rows(setup, ("Hopper", "Navy Labs", "grace@navy.example"), ("Turing", "Bletchley", "alan@b.example"))

    setup.hub.sync()

    assert owners(setup) == {"Hopper": user_id(setup, "admin@sandbox.example"), "Turing": user_id(setup, MANAGER)}
    assert check_hub(setup.hub.config) == []


def test_unknown_default_user_fails_its_records_and_is_reported_by_check(make_setup):
    setup = make_setup([lead_flow(defaults={"OwnerId": {
        "user": MANAGER, "rules": [{"when": {"company": "Ghost Inc"}, "user": "ghost@example.com"}]}})])
    add_rows(setup, ("Casper", "Ghost Inc", "casper@ghost.example"), ("Turing", "Bletchley", "alan@b.example"))

    report = setup.hub.sync()

    assert report.results[0].written_to_salesforce == 1 and report.results[0].failed == 1
    with Session(setup.hub.engine) as session:
        (error,) = repo.open_errors(session)
    assert error.error_code == "DEFAULT_USER_NOT_FOUND" and "'ghost@example.com'" in error.message
    problems = check_hub(setup.hub.config)
    assert problems == ["flows[0] (leads).defaults: no active Salesforce user with username or email "
                        "'ghost@example.com'"]


def test_sync_flag_limits_reads_and_is_set_on_records_the_hub_writes(make_setup):
    setup = make_setup([lead_flow(sync_flag="Sync_with_Hub__c")])
    setup.client.create("Lead", [{**lead_values("Ada", "Lovelace", "Engines"), "Sync_with_Hub__c": True},
                                 lead_values("Hedy", "Lamarr", "Frequency")])
    add_rows(setup, ("Hopper", "Navy Labs", "grace@navy.example"))

    setup.hub.sync()

    assert sorted(row["last_name"] for row in setup.app_rows()) == ["Hopper", "Lovelace"]
    flags = {r["LastName"]: r["Sync_with_Hub__c"]
             for r in setup.client.query_all("SELECT LastName, Sync_with_Hub__c FROM Lead")}
    assert flags == {"Lovelace": True, "Lamarr": False, "Hopper": True}
    assert setup.hub.sync().written == 0


def test_app_rows_are_linked_to_exactly_one_matching_salesforce_record(make_setup):
    setup = make_setup([lead_flow(direction="to_salesforce", match={"fields": {"Email": "email"}})])
    (existing,) = setup.client.create("Lead", [lead_values("Ada", "Lovelace", "Engines")])
    setup.client.create("Lead", [lead_values("Twin", "One", "Dup"), lead_values("Twin", "Two", "Dup")])
    add_rows(setup, ("Lovelace-King", "Engines", "ada@engines.example"),   # exactly one: linked, updated
             ("Hopper", "Navy Labs", "grace@navy.example"),                  # none: created
             ("Twin", "Dup", "twin@dup.example"))                            # two candidates: refused

    report = setup.hub.sync()

    leads = setup.sf_leads()
    assert len(leads) == 4, "one new lead (Hopper); the match was updated, not doubled"
    assert next(lead for lead in leads if lead["Id"] == existing.id)["LastName"] == "Lovelace-King"
    rows = {row["last_name"]: row for row in setup.app_rows()}
    assert rows["Lovelace-King"]["sf_id"] == existing.id
    assert report.results[0].failed == 1
    with Session(setup.hub.engine) as session:
        (error,) = repo.open_errors(session)
    assert error.error_code == "MULTIPLE_MATCHES" and "2 records match Lead Email = 'twin@dup.example'" in error.message


def test_on_many_most_recent_links_the_newest_candidate(make_setup):
    setup = make_setup([lead_flow(direction="to_salesforce",
                                  match={"fields": {"Email": "email"}, "on_many": "most_recent"})])
    setup.client.create("Lead", [lead_values("Twin", "Old", "Dup")])
    (newer,) = setup.client.create("Lead", [lead_values("Twin", "New", "Dup")])
    add_rows(setup, ("Twin", "Dup", "twin@dup.example"))

    setup.hub.sync()

    assert setup.app_rows()[0]["sf_id"] == newer.id
    assert len(setup.sf_leads()) == 2


def test_new_salesforce_record_is_linked_to_its_matching_app_row(make_setup):
    setup = make_setup([lead_flow(key={"salesforce_id_column": "sf_id"}, match={"fields": {"Email": "email"}})])
    add_rows(setup, ("Lovelace", "Engines", "ada@engines.example"))
    (created,) = setup.client.create("Lead", [lead_values("Ada", "Lovelace", "Engines")])

    setup.hub.sync()

    rows = setup.app_rows()
    assert len(rows) == 1 and rows[0]["sf_id"] == created.id
    assert len(setup.sf_leads()) == 1
    assert setup.hub.sync().written == 0
