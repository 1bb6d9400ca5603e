"""End to end against the sandbox: event rules, chains, and manual runs of one record.

Each test plays one promise: a status reaching a value on the named side runs the rule's flow for the related
records (and only then); a chain A -> B runs B for A's related records and shows as a child run in the log; a
chain that would loop stops; one record can be synced by hand from the command line.
"""

from __future__ import annotations

import yaml
from sqlalchemy import text
from trigger_helpers import accounts_flow, config_data, contacts_flow, leads_flow
from typer.testing import CliRunner

from salesbridge.cli import app as cli
from salesbridge.triggers.events import EventLoop

APPROVED_IN_APP = {"name": "approved-leads-open-accounts",
                   "on": {"flow": "leads", "event": "status", "field": "stage", "becomes": "Approved", "side": "app"},
                   "run": [{"flow": "accounts", "for": "related", "via": "lead_id"}]}
REJECTED_IN_SALESFORCE = {"name": "rejected-in-salesforce",
                          "on": {"flow": "leads", "event": "status", "field": "Status",
                                 "becomes": "Closed - Not Converted", "side": "salesforce"},
                          "run": [{"flow": "accounts", "for": "related", "via": "lead_id"}]}


def seed_leads_with_accounts(app) -> dict[str, str]:
    keys = {}
    for last_name, company in (("Hopper", "Navy Labs"), ("Turing", "Bletchley Park")):
        lead = app.insert("INSERT INTO leads (last_name, company, stage) VALUES (:l, :c, 'New')", l=last_name,
                          c=company)
        app.insert("INSERT INTO accounts (name, lead_id) VALUES (:n, :lead)", n=company, lead=int(lead))
        keys[last_name] = lead
    return keys


def test_status_becoming_approved_in_the_app_runs_the_accounts_flow_for_that_lead(make_app, app_url):
    app = make_app(app_url, [leads_flow(), accounts_flow()], [APPROVED_IN_APP, REJECTED_IN_SALESFORCE])
    seed_leads_with_accounts(app)
    loop = EventLoop(app.hub)

    first = app.hub.sync(["leads"])
    assert first.results[0].written_to_salesforce == 2
    assert loop.poll() == [], "leads created as New reach no rule"
    assert app.salesforce_names("Account") == set()

    app.execute("UPDATE leads SET stage = 'Approved' WHERE last_name = 'Hopper'")
    approval = app.hub.sync(["leads"])
    assert approval.results[0].written_to_salesforce == 1
    triggered = loop.poll()

    assert [r.status for r in triggered] == ["succeeded"]
    assert triggered[0].results[0].flow == "accounts" and triggered[0].results[0].written_to_salesforce == 1
    assert app.salesforce_names("Account") == {"Navy Labs"}, "only the approved lead's account"
    run = app.runs()[-1]
    assert (run.trigger, run.parent_run_id, run.flows) == ("event", approval.run_id, ["accounts"])
    assert run.cause["path"] == ["leads", "accounts"]
    assert run.cause["rules"] == ["approved-leads-open-accounts"]

    app.execute("UPDATE leads SET company = 'US Navy' WHERE last_name = 'Hopper'")
    assert app.hub.sync(["leads"]).written == 1
    assert loop.poll() == [], "another field of an already approved lead changes nothing"

    turing = next(r for r in app.client.query_all("SELECT Id FROM Lead WHERE LastName = 'Turing'"))
    app.client.update("Lead", [{"Id": turing["Id"], "Status": "Closed - Converted"}])
    assert app.hub.sync(["leads"]).results[0].written_to_app == 1
    assert loop.poll() == [], "approved in Salesforce: the rule asks for side app"
    assert app.salesforce_names("Account") == {"Navy Labs"}
    assert loop.pending_runs() == []


def test_status_reached_in_salesforce_is_matched_by_salesforce_field_and_value(make_app, app_url):
    app = make_app(app_url, [leads_flow(), accounts_flow()], [APPROVED_IN_APP, REJECTED_IN_SALESFORCE])
    seed_leads_with_accounts(app)
    loop = EventLoop(app.hub)
    app.hub.sync(["leads"])
    loop.poll()

    turing = next(r for r in app.client.query_all("SELECT Id FROM Lead WHERE LastName = 'Turing'"))
    app.client.update("Lead", [{"Id": turing["Id"], "Status": "Closed - Not Converted"}])
    rejection = app.hub.sync(["leads"])
    assert rejection.results[0].written_to_app == 1
    with app.engine.connect() as connection:
        assert connection.execute(text("SELECT stage FROM leads WHERE last_name = 'Turing'")).scalar() == "Rejected"

    triggered = loop.poll()
    assert len(triggered) == 1 and triggered[0].written == 1
    assert app.salesforce_names("Account") == {"Bletchley Park"}
    run = app.runs()[-1]
    assert (run.trigger, run.parent_run_id, run.cause["rules"]) == ("event", rejection.run_id,
                                                                    ["rejected-in-salesforce"])


def test_a_chain_runs_the_next_flow_for_related_records_and_shows_in_the_run_log(make_app, app_url):
    chained = accounts_flow(chain={"then": [{"flow": "contacts", "for": "related", "via": "account_id"}]})
    app = make_app(app_url, [chained, contacts_flow()])
    acme = app.insert("INSERT INTO accounts (name) VALUES ('Acme')")
    globex = app.insert("INSERT INTO accounts (name) VALUES ('Globex')")
    for name, account in (("Coyote", acme), ("Runner", acme), ("Scorpio", globex)):
        app.insert("INSERT INTO contacts (last_name, account_id) VALUES (:n, :a)", n=name, a=int(account))

    first = app.hub.sync(["accounts"])

    assert first.results[0].written_to_salesforce == 2
    assert [(r.results[0].flow, r.results[0].written_to_salesforce) for r in first.chained] == [("contacts", 3)]
    assert app.salesforce_names("Contact", "LastName") == {"Coyote", "Runner", "Scorpio"}

    app.insert("INSERT INTO contacts (last_name, account_id) VALUES ('Wile', :a)", a=int(acme))
    app.insert("INSERT INTO contacts (last_name, account_id) VALUES ('Hank', :a)", a=int(globex))
    app.execute("UPDATE accounts SET name = 'Acme Corporation' WHERE id = :a", a=int(acme))
    second = app.hub.sync(["accounts"])

    assert second.results[0].written_to_salesforce == 1
    assert [r.results[0].written_to_salesforce for r in second.chained] == [1]
    names = app.salesforce_names("Contact", "LastName")
    assert "Wile" in names and "Hank" not in names, "only contacts of the account that was written"

    runs = app.runs()
    assert [(r.id, r.trigger, r.flows, r.parent_run_id) for r in runs] == [
        (first.run_id, "manual", ["accounts"], None),
        (first.chained[0].run_id, "chain", ["contacts"], first.run_id),
        (second.run_id, "manual", ["accounts"], None),
        (second.chained[0].run_id, "chain", ["contacts"], second.run_id),
    ]
    assert runs[-1].cause == {"path": ["accounts", "contacts"], "chain": ["accounts"]}


def test_a_chain_that_loops_back_stops_before_reentering_a_flow(make_app, sqlite_url):
    accounts = accounts_flow(chain={"then": [{"flow": "contacts", "for": "related", "via": "account_id"}]})
    contacts = contacts_flow(chain={"then": ["accounts"]})
    app = make_app(sqlite_url, [accounts, contacts])
    acme = app.insert("INSERT INTO accounts (name) VALUES ('Acme')")
    app.insert("INSERT INTO contacts (last_name, account_id) VALUES ('Coyote', :a)", a=int(acme))

    report = app.hub.sync(["accounts"])

    assert len(report.chained) == 1 and report.chained[0].chained == [], "contacts -> accounts is refused"
    assert [(r.trigger, r.flows) for r in app.runs()] == [("manual", ["accounts"]), ("chain", ["contacts"])]


def test_a_disabled_flow_is_not_started_by_a_chain(make_app, sqlite_url):
    accounts = accounts_flow(chain={"then": [{"flow": "contacts", "for": "related", "via": "account_id"}]})
    app = make_app(sqlite_url, [accounts, contacts_flow(enabled=False)])
    acme = app.insert("INSERT INTO accounts (name) VALUES ('Acme')")
    app.insert("INSERT INTO contacts (last_name, account_id) VALUES ('Coyote', :a)", a=int(acme))

    report = app.hub.sync(["accounts"])

    assert report.written == 1 and report.chained == []
    assert app.salesforce_names("Contact", "LastName") == set()


def test_event_rules_on_a_flow_run_by_an_event_keep_to_the_loop_guard(make_app, sqlite_url):
    back_and_forth = [
        {"name": "lead-to-account", "on": {"flow": "leads", "event": "created"}, "run": ["accounts"]},
        {"name": "account-to-lead", "on": {"flow": "accounts", "event": "created"}, "run": ["leads"]},
    ]
    app = make_app(sqlite_url, [leads_flow(), accounts_flow()], back_and_forth)
    seed_leads_with_accounts(app)
    loop = EventLoop(app.hub)

    app.hub.sync(["leads"])
    first = loop.poll()
    second = loop.poll()

    assert [r.results[0].flow for r in first] == ["accounts"]
    assert second == [], "accounts -> leads would re-enter leads"
    assert loop.pending_runs() == []


runner = CliRunner()


def write_config(tmp_path, org, url) -> str:
    path = tmp_path / "salesbridge.yaml"
    path.write_text(yaml.safe_dump(config_data(org, url, [leads_flow()])))
    return str(path)


def test_sync_one_record_by_hand_from_the_command_line(make_app, sqlite_url, tmp_path, org):
    app = make_app(sqlite_url, [leads_flow()])
    keys = seed_leads_with_accounts(app)
    path = write_config(tmp_path, org, sqlite_url)

    by_key = runner.invoke(cli, ["sync", "leads", "--app-key", keys["Turing"], "-c", path])
    assert by_key.exit_code == 0, by_key.output
    assert app.salesforce_names("Lead", "LastName") == {"Turing"}, "only the named row"

    ada = app.client.create("Lead", [{"LastName": "Lovelace", "Company": "Engines", "Status": "Working - Contacted"},
                                     {"LastName": "Babbage", "Company": "Engines"}])[0].id
    by_id = runner.invoke(cli, ["sync", "leads", "--sf-id", ada, "-c", path])
    assert by_id.exit_code == 0, by_id.output
    with app.engine.connect() as connection:
        rows = dict(connection.execute(text("SELECT last_name, stage FROM leads")).all())
    assert rows == {"Hopper": "New", "Turing": "New", "Lovelace": "Pre-Approved"}, "only the named record"
    assert [(r.trigger, r.flows) for r in app.runs()] == [("manual", ["leads"])] * 2

    no_flow = runner.invoke(cli, ["sync", "--sf-id", ada, "-c", path])
    assert no_flow.exit_code == 2 and "need exactly one FLOW" in no_flow.output
