"""End to end: the hub against a real sandbox server, on SQLite and on PostgreSQL.

Each test plays one promise of the sync core: directions, echo suppression, deletes, conflicts under each policy,
per-record failures with retry, and a session that expires in the middle of a run.
"""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session
from sync_helpers import lead_flow, lead_values

from salesbridge.store import repository as repo


def seed_app(setup, *rows: tuple[str, str, str, str]) -> None:
    for first, last, company, stage in rows:
        setup.app_exec("INSERT INTO leads (first_name, last_name, company, email, stage) "
                       "VALUES (:f, :l, :c, :e, :s)", f=first, l=last, c=company,
                       e=f"{first.lower()}@{company.split()[0].lower()}.example", s=stage)


def test_app_rows_are_created_in_salesforce_and_linked(make_setup):
    setup = make_setup([lead_flow(direction="to_salesforce")])
    seed_app(setup, ("Grace", "Hopper", "Navy Labs", "New"), ("Alan", "Turing", "Bletchley Park", "Qualified"))

    report = setup.hub.sync()

    assert report.status == "succeeded"
    assert report.results[0].written_to_salesforce == 2
    assert report.api_calls == 1  # one collections upsert for both rows
    by_name = {lead["LastName"]: lead for lead in setup.sf_leads()}
    assert by_name["Turing"]["Status"] == "Working - Contacted"
    rows = {row["last_name"]: row for row in setup.app_rows()}
    assert rows["Hopper"]["sf_id"] == by_name["Hopper"]["Id"]
    assert by_name["Hopper"]["Hub_Id__c"] == str(rows["Hopper"]["id"])

    again = setup.hub.sync()
    assert again.written == 0 and again.api_calls == 0  # a to_salesforce flow never polls Salesforce


def test_salesforce_records_are_imported_with_values_mapped(make_setup):
    setup = make_setup([lead_flow(direction="from_salesforce")])
    setup.client.create("Lead", [lead_values("Ada", "Lovelace", "Engines", "Working - Contacted"),
                                 lead_values("Hedy", "Lamarr", "Frequency")])

    report = setup.hub.sync()

    assert report.results[0].written_to_app == 2
    rows = {row["last_name"]: row for row in setup.app_rows()}
    assert rows["Lovelace"]["stage"] == "Qualified" and rows["Lamarr"]["stage"] == "New"
    assert rows["Lovelace"]["sf_id"] and rows["Lovelace"]["email"] == "ada@engines.example"


def test_two_way_first_sync_then_echoes_are_suppressed(make_setup):
    setup = make_setup()
    seed_app(setup, ("Grace", "Hopper", "Navy Labs", "New"))
    setup.client.create("Lead", [lead_values("Ada", "Lovelace", "Engines")])

    first = setup.hub.sync()
    assert (first.results[0].written_to_app, first.results[0].written_to_salesforce) == (1, 1)
    assert len(setup.app_rows()) == 2 and len(setup.sf_leads()) == 2

    second = setup.hub.sync()
    assert second.written == 0, "the echo of the first sync's writes must not be synced back"
    assert second.api_calls == 1, "a no-change poll is one query per flow"
    third = setup.hub.sync()
    assert third.written == 0 and third.api_calls == 1


def test_updates_flow_both_ways(make_setup):
    setup = make_setup()
    seed_app(setup, ("Grace", "Hopper", "Navy Labs", "New"))
    setup.client.create("Lead", [lead_values("Ada", "Lovelace", "Engines")])
    setup.hub.sync()
    ada_id = next(lead["Id"] for lead in setup.sf_leads() if lead["LastName"] == "Lovelace")

    setup.app_exec("UPDATE leads SET stage = 'Won', company = 'US Navy' WHERE last_name = 'Hopper'")
    setup.client.update("Lead", [{"Id": ada_id, "Company": "Analytical Engines plc"}])
    report = setup.hub.sync()

    assert (report.results[0].written_to_app, report.results[0].written_to_salesforce) == (1, 1)
    sf = {lead["LastName"]: lead for lead in setup.sf_leads()}
    assert sf["Hopper"]["Status"] == "Closed - Converted" and sf["Hopper"]["Company"] == "US Navy"
    app = {row["last_name"]: row for row in setup.app_rows()}
    assert app["Lovelace"]["company"] == "Analytical Engines plc"
    assert setup.hub.sync().written == 0


def test_deletes_propagate_both_ways(make_setup):
    setup = make_setup()
    seed_app(setup, ("Grace", "Hopper", "Navy Labs", "New"), ("Alan", "Turing", "Bletchley Park", "New"))
    setup.client.create("Lead", [lead_values("Ada", "Lovelace", "Engines")])
    setup.hub.sync()
    ada_id = next(lead["Id"] for lead in setup.sf_leads() if lead["LastName"] == "Lovelace")

    setup.app_exec("DELETE FROM leads WHERE last_name = 'Turing'")
    setup.client.delete([ada_id])
    report = setup.hub.sync()

    assert report.results[0].deletes == 2
    assert [row["last_name"] for row in setup.app_rows()] == ["Hopper"]
    assert [lead["LastName"] for lead in setup.sf_leads()] == ["Hopper"]
    deleted = [lead for lead in setup.sf_leads(include_deleted=True) if lead["IsDeleted"]]
    assert {lead["LastName"] for lead in deleted} == {"Turing", "Lovelace"}
    assert setup.hub.sync().written == 0


@pytest.mark.parametrize(
    ("policy", "newer", "winner"),
    [
        ("last_modified_wins", "app", "app"),
        ("last_modified_wins", "salesforce", "salesforce"),
        ("salesforce_wins", "app", "salesforce"),
        ("app_wins", "salesforce", "app"),
    ],
)
def test_conflicts_are_settled_by_policy_and_logged(make_setup, policy, newer, winner):
    setup = make_setup([lead_flow(conflict=policy)])
    seed_app(setup, ("Grace", "Hopper", "Navy Labs", "New"))
    setup.hub.sync()
    sf_id = setup.sf_leads()[0]["Id"]

    def edit_app():
        setup.app_exec("UPDATE leads SET company = 'App Co' WHERE last_name = 'Hopper'")

    def edit_salesforce():
        setup.client.update("Lead", [{"Id": sf_id, "Company": "Salesforce Co"}])

    # Both clocks are this machine's: the edit made second is the newer one.
    (edit_salesforce, edit_app)[0 if newer == "app" else 1]()
    (edit_app, edit_salesforce)[0 if newer == "app" else 1]()
    report = setup.hub.sync()

    expected = "App Co" if winner == "app" else "Salesforce Co"
    assert setup.app_rows()[0]["company"] == expected
    assert setup.sf_leads()[0]["Company"] == expected
    assert report.results[0].conflicts == 1
    with Session(setup.hub.engine) as session:
        (conflict,) = repo.list_conflicts(session, flow="leads")
        assert conflict.winner == winner and conflict.policy == policy
        assert conflict.sf_values["Company"] == "Salesforce Co"
        assert conflict.app_values["company"] == "App Co"
    assert setup.hub.sync().written == 0


def test_a_rejected_record_fails_alone_and_is_retried_after_the_fix(make_setup):
    setup = make_setup()
    seed_app(setup, ("Grace", "Hopper", "Navy Labs", "New"), ("Alan", "Turing", "Bletchley Park", "New"),
             ("Kath", "Johnson", "Langley", "New"))
    setup.app_exec("UPDATE leads SET email = 'not-an-email' WHERE last_name = 'Turing'")

    report = setup.hub.sync()

    assert report.status == "partial"
    assert report.results[0].written_to_salesforce == 2 and report.results[0].failed == 1
    with Session(setup.hub.engine) as session:
        (error,) = repo.open_errors(session)
        assert error.error_code == "INVALID_EMAIL_ADDRESS"
        assert error.fields == ["Email"]
        assert error.payload["Email"] == "not-an-email" and error.payload["LastName"] == "Turing"
        error_id = error.id

    assert setup.hub.retry().failed == 1, "retrying without a fix fails again"
    with Session(setup.hub.engine) as session:
        (error,) = repo.open_errors(session)
        assert error.attempts == 2

    # The fix made in the app is itself a change, but a retry by error id also picks it up at once.
    setup.app_exec("UPDATE leads SET email = 'alan@bletchley.example' WHERE last_name = 'Turing'")
    retried = setup.hub.retry([error_id])
    assert retried.results[0].written_to_salesforce == 1
    with Session(setup.hub.engine) as session:
        assert repo.open_errors(session) == []
    assert {lead["LastName"] for lead in setup.sf_leads()} == {"Hopper", "Turing", "Johnson"}
    assert setup.hub.sync().written == 0


def test_an_error_is_resolved_when_its_row_goes_back_to_the_synced_values(make_setup):
    setup = make_setup()
    seed_app(setup, ("Alan", "Turing", "Bletchley Park", "New"))
    setup.app_exec("UPDATE leads SET email = 'alan@bletchley.example'")
    assert setup.hub.sync().failed == 0
    setup.app_exec("UPDATE leads SET email = 'not-an-email'")
    assert setup.hub.sync().failed == 1

    setup.app_exec("UPDATE leads SET email = 'alan@bletchley.example'")  # undone: what Salesforce has
    report = setup.hub.sync()

    assert report.written == 0 and report.failed == 0
    with Session(setup.hub.engine) as session:
        assert repo.open_errors(session) == []


def test_unmapped_value_is_a_record_error_naming_value_and_map(make_setup):
    setup = make_setup()
    seed_app(setup, ("Grace", "Hopper", "Navy Labs", "Dormant"), ("Alan", "Turing", "Bletchley Park", "New"))

    report = setup.hub.sync()

    assert report.results[0].written_to_salesforce == 1 and report.results[0].failed == 1
    with Session(setup.hub.engine) as session:
        (error,) = repo.open_errors(session)
    assert error.error_code == "UNMAPPED_VALUE"
    assert "'Dormant'" in error.message and "'pipeline'" in error.message


def test_session_expiring_mid_run_is_renewed_transparently(make_setup):
    setup = make_setup(bulk_threshold=10_000)
    for index in range(450):
        setup.app_exec("INSERT INTO leads (last_name, company, stage) VALUES (:l, 'Acme', 'New')", l=f"L{index}")
    expired = []

    def progress(flow_name):
        def advance(stage, count):
            if stage == "write salesforce" and not expired:
                expired.append(setup.org.org.sessions.expire_all())
        return advance

    report = setup.hub.sync(progress=progress)

    assert expired, "sessions were expired after the first chunk"
    assert report.status == "succeeded"
    assert report.results[0].written_to_salesforce == 450
    assert len(setup.sf_leads()) == 450
