"""End-to-end: messages shared from a real IMAP mailbox (Dovecot) become Tasks in the sandbox org, once."""

from __future__ import annotations

from typing import Any

import pytest
from dovecot_server import DovecotServer, MailUser
from mail_helpers import FOLDER, MailClient, mail_config, make_message
from sqlalchemy import create_engine, text

from salesbridge.flows._runtime import Runtime
from salesbridge.flows.mail import MailSync, sync_mail
from salesbridge.salesforce import SalesforceClient
from salesbridge.sandbox.server import RunningSandbox
from salesbridge.sync.connect import salesforce_client


@pytest.fixture
def people(sf_client: SalesforceClient) -> dict[str, str]:
    """A Contact at an Account and a Lead, known by their e-mail addresses."""
    account = sf_client.create("Account", [{"Name": "Acme"}])[0].id
    contact = sf_client.create(
        "Contact",
        [{"LastName": "Archer", "FirstName": "Ann", "Email": "ann@acme.example", "AccountId": account}],
    )[0].id
    lead = sf_client.create(
        "Lead", [{"LastName": "Lee", "Company": "Leads Ltd", "Email": "lou@leads.example"}]
    )[0].id
    assert account and contact and lead
    return {"account": account, "contact": contact, "lead": lead}


def tasks(client: SalesforceClient) -> list[dict[str, Any]]:
    return client.query_all(
        "SELECT Id, WhoId, WhatId, Subject, Status, ActivityDate, Description, TaskSubtype "
        "FROM Task ORDER BY CreatedDate, Id"
    )


def record_errors(app_url: str) -> list[dict[str, Any]]:
    engine = create_engine(app_url)
    try:
        with engine.connect() as connection:
            return [
                dict(row._mapping)
                for row in connection.execute(
                    text(
                        "SELECT flow, app_key, error_code, message, status, attempts "
                        "FROM sb_record_errors ORDER BY id"
                    )
                )
            ]
    finally:
        engine.dispose()


def test_a_message_moved_to_the_folder_is_saved_as_a_completed_task_once(
    org: RunningSandbox,
    app_url: str,
    dovecot: DovecotServer,
    mail_user: MailUser,
    mail_client: MailClient,
    sf_client: SalesforceClient,
    people: dict[str, str],
) -> None:
    config = mail_config(org, app_url, dovecot, mail_user)
    mail_client.append(
        "INBOX",
        make_message(
            "Ann Archer <Ann@Acme.example>",
            mail_user.username,
            "Renewal terms",
            "Can we talk about the renewal?\nBest, Ann",
            message_id="<m1@acme>",
        ),
    )
    mail_client.append(
        "INBOX", make_message("Someone <else@nowhere.example>", mail_user.username, "Unshared")
    )
    first = sync_mail(config)
    assert first.count("saved") == 0 and first.status == "succeeded"
    assert tasks(sf_client) == []

    mail_client.move("INBOX", mail_client.uids("INBOX")[0], FOLDER)  # the folder was made by the first run
    report = sync_mail(config)

    assert report.status == "succeeded", report.problems
    assert report.count("saved") == 1
    [task] = tasks(sf_client)
    assert task["WhoId"] == people["contact"]
    assert task["WhatId"] == people["account"]
    assert task["Status"] == "Completed"
    assert task["TaskSubtype"] == "Email"
    assert task["Subject"] == "Email: Renewal terms"
    assert task["ActivityDate"] == "2026-11-20"
    assert "Can we talk about the renewal?\nBest, Ann" in task["Description"]
    assert "From: Ann Archer <ann@acme.example>" in task["Description"]
    assert "Message-ID: <m1@acme>" in task["Description"]
    assert "\\Seen" not in mail_client.flags(FOLDER, mail_client.uids(FOLDER)[0])  # read without marking

    again = sync_mail(config)  # a restart: a new client, state from the database only
    assert again.count("saved") == 0 and again.count("already_saved") == 1
    assert len(tasks(sf_client)) == 1


def test_a_message_tagged_with_the_keyword_is_saved_and_a_copy_in_the_folder_is_not_saved_again(
    org: RunningSandbox,
    app_url: str,
    dovecot: DovecotServer,
    mail_user: MailUser,
    mail_client: MailClient,
    sf_client: SalesforceClient,
    people: dict[str, str],
) -> None:
    config = mail_config(org, app_url, dovecot, mail_user)
    mail_client.create_folder("Projects/Ünïcode")
    raw = make_message("lou@leads.example", mail_user.username, "Pricing", message_id="<tagged@leads>")
    mail_client.append("Projects/Ünïcode", raw, keywords=("Salesforce",))
    outgoing = make_message(mail_user.username, "Ann <ann@acme.example>", "Our offer", message_id="<sent@me>")
    mail_client.append("Sent", outgoing)
    mail_client.tag("Sent", mail_client.uids("Sent")[0], "salesforce")  # as Thunderbird spells its tags

    report = sync_mail(config)
    assert report.count("saved") == 2, report.problems
    by_subject = {task["Subject"]: task for task in tasks(sf_client)}
    assert by_subject["Email: Pricing"]["WhoId"] == people["lead"]
    assert by_subject["Email: Pricing"]["WhatId"] is None
    assert by_subject["Email: Our offer"]["WhoId"] == people["contact"]  # sent mail: matched by recipient

    mail_client.create_folder(FOLDER)
    mail_client.append(FOLDER, raw)  # the same message (same Message-ID) shared a second way
    assert sync_mail(config).count("saved") == 0
    assert len(tasks(sf_client)) == 2


def test_matching_is_batched_one_query_per_object_for_all_messages(
    org: RunningSandbox,
    app_url: str,
    dovecot: DovecotServer,
    mail_user: MailUser,
    mail_client: MailClient,
    sf_client: SalesforceClient,
) -> None:
    contacts = [{"LastName": f"Person {n}", "Email": f"p{n}@corp.example"} for n in range(25)]
    assert all(result.success for result in sf_client.create("Contact", contacts))
    mail_client.create_folder(FOLDER)
    for n in range(25):
        mail_client.append(
            FOLDER,
            make_message(f"p{n}@corp.example", mail_user.username, f"Note {n}", message_id=f"<n{n}@corp>"),
        )
    config = mail_config(org, app_url, dovecot, mail_user)
    report = sync_mail(config)
    assert report.count("saved") == 25
    # one Contact query for the 25 addresses, one Task create through Collections; no Lead query is needed
    assert report.api_calls == 2
    assert sorted(task["Subject"] for task in tasks(sf_client)) == sorted(
        f"Email: Note {n}" for n in range(25)
    )


class CrashAfterCreate(Exception):
    pass


def test_a_crash_after_creating_tasks_does_not_save_them_twice(
    org: RunningSandbox,
    app_url: str,
    dovecot: DovecotServer,
    mail_user: MailUser,
    mail_client: MailClient,
    sf_client: SalesforceClient,
    people: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = mail_config(org, app_url, dovecot, mail_user)
    mail_client.create_folder(FOLDER)
    mail_client.append(
        FOLDER, make_message("ann@acme.example", mail_user.username, "Crashy", message_id="<c@1>")
    )
    mail_client.append(
        FOLDER, make_message("lou@leads.example", mail_user.username, "Crashy", message_id="<c@2>")
    )
    client = salesforce_client(config)
    real_create = client.create

    def create_then_crash(object_name: str, records: list[dict[str, Any]]) -> Any:
        real_create(object_name, records)
        raise CrashAfterCreate("the process died before it could record the Task ids")

    monkeypatch.setattr(client, "create", create_then_crash)
    with pytest.raises(CrashAfterCreate):
        MailSync(Runtime.for_config(config, client=client), config.mail).run()
    assert len(tasks(sf_client)) == 2

    report = sync_mail(config)  # the restart
    assert report.count("recovered") == 2
    assert report.count("saved") == 0
    assert sorted(task["WhoId"] for task in tasks(sf_client)) == sorted([people["contact"], people["lead"]])


def test_tasks_are_upserted_by_message_id_when_a_field_is_configured(
    org: RunningSandbox,
    app_url: str,
    dovecot: DovecotServer,
    mail_user: MailUser,
    mail_client: MailClient,
    sf_client: SalesforceClient,
    people: dict[str, str],
) -> None:
    config = mail_config(org, app_url, dovecot, mail_user, message_id_field="Email_Message_Id__c")
    mail_client.create_folder(FOLDER)
    mail_client.append(
        FOLDER, make_message("ann@acme.example", mail_user.username, "Keyed", message_id="<k@1>")
    )
    assert sync_mail(config).count("saved") == 1
    engine = create_engine(app_url)
    with engine.begin() as connection:  # forget the message, as if the state were lost
        connection.execute(text("DELETE FROM sb_mail_messages"))
    engine.dispose()
    report = sync_mail(config)
    assert (report.count("saved"), report.count("recovered"), report.api_calls) == (0, 1, 2)
    [task] = sf_client.query_all("SELECT Id, Email_Message_Id__c, TaskSubtype FROM Task")
    assert (task["Email_Message_Id__c"], task["TaskSubtype"]) == ("<k@1>", "Email")


def test_unmatched_senders_are_skipped_by_default_and_saved_once_they_are_known(
    org: RunningSandbox,
    app_url: str,
    dovecot: DovecotServer,
    mail_user: MailUser,
    mail_client: MailClient,
    sf_client: SalesforceClient,
) -> None:
    config = mail_config(org, app_url, dovecot, mail_user)
    mail_client.create_folder(FOLDER)
    mail_client.append(
        FOLDER, make_message("new@startup.example", mail_user.username, "Hello", message_id="<u@1>")
    )
    report = sync_mail(config)
    assert report.count("unmatched") == 1 and report.count("saved") == 0 and report.status == "succeeded"
    assert tasks(sf_client) == [] and record_errors(app_url) == []

    contact = sf_client.create("Contact", [{"LastName": "New", "Email": "new@startup.example"}])[0].id
    assert sync_mail(config).count("saved") == 1
    assert [task["WhoId"] for task in tasks(sf_client)] == [contact]


def test_unmatched_senders_become_leads_when_configured_one_lead_per_address(
    org: RunningSandbox,
    app_url: str,
    dovecot: DovecotServer,
    mail_user: MailUser,
    mail_client: MailClient,
    sf_client: SalesforceClient,
) -> None:
    config = mail_config(org, app_url, dovecot, mail_user, unmatched="lead", lead_source="Other")
    mail_client.create_folder(FOLDER)
    for n in range(2):
        mail_client.append(
            FOLDER,
            make_message(
                "Nina Novak <nina@novel.example>", mail_user.username, f"Intro {n}", message_id=f"<l@{n}>"
            ),
        )
    report = sync_mail(config)
    assert report.count("leads_created") == 1 and report.count("saved") == 2
    [lead] = sf_client.query_all("SELECT Id, FirstName, LastName, Company, Email, LeadSource FROM Lead")
    assert (lead["FirstName"], lead["LastName"], lead["Company"], lead["Email"], lead["LeadSource"]) == (
        "Nina",
        "Novak",
        "novel.example",
        "nina@novel.example",
        "Other",
    )
    assert {task["WhoId"] for task in tasks(sf_client)} == {lead["Id"]}


def test_unmatched_senders_are_record_errors_when_configured_and_resolved_once_saved(
    org: RunningSandbox,
    app_url: str,
    dovecot: DovecotServer,
    mail_user: MailUser,
    mail_client: MailClient,
    sf_client: SalesforceClient,
) -> None:
    config = mail_config(org, app_url, dovecot, mail_user, unmatched="error")
    mail_client.create_folder(FOLDER)
    mail_client.append(
        FOLDER, make_message("who@unknown.example", mail_user.username, "Hm", message_id="<e@1>")
    )
    report = sync_mail(config)
    assert report.status == "partial"
    [problem] = report.problems
    assert problem.error_code == "NO_MATCHING_RECORD" and "who@unknown.example" in problem.message
    [error] = record_errors(app_url)
    assert (error["flow"], error["app_key"], error["error_code"], error["status"]) == (
        "mail",
        "<e@1>",
        "NO_MATCHING_RECORD",
        "open",
    )
    assert tasks(sf_client) == []

    sf_client.create("Lead", [{"LastName": "Who", "Company": "Unknown", "Email": "who@unknown.example"}])
    assert sync_mail(config).count("saved") == 1
    assert [e["status"] for e in record_errors(app_url)] == ["resolved"]


def test_a_malformed_message_is_reported_and_does_not_stop_the_others(
    org: RunningSandbox,
    app_url: str,
    dovecot: DovecotServer,
    mail_user: MailUser,
    mail_client: MailClient,
    sf_client: SalesforceClient,
    people: dict[str, str],
) -> None:
    config = mail_config(org, app_url, dovecot, mail_user)
    mail_client.create_folder(FOLDER)
    mail_client.append(FOLDER, b"Subject: no sender\r\nMessage-ID: <bad@1>\r\n\r\nwho sent this?\r\n")
    mail_client.append(FOLDER, b"From: \r\nTo: \x00\x01\r\nSubject: =?broken?Q?x\r\n\r\n\r\n")
    mail_client.append(
        FOLDER,
        make_message(
            "ann@acme.example",
            mail_user.username,
            "Fine",
            message_id="<ok@1>",
            html="<html><style>p{}</style><body><p>Hello&nbsp;<b>Ann</b></p><p>Line two</p></body></html>",
        ),
    )
    report = sync_mail(config)
    assert report.count("saved") == 1
    assert report.status == "partial"
    assert [problem.error_code for problem in report.problems] == ["MALFORMED_MESSAGE", "MALFORMED_MESSAGE"]
    assert "no sender address" in report.problems[0].message
    assert report.problems[0].key == "<bad@1>" and report.problems[0].where == f"{FOLDER} #1"
    [task] = tasks(sf_client)
    assert task["Description"].endswith("Hello Ann\n\nLine two")
    assert {error["error_code"] for error in record_errors(app_url)} == {"MALFORMED_MESSAGE"}


def test_an_unreachable_mailbox_fails_the_run_with_a_clear_error(
    org: RunningSandbox, app_url: str, dovecot: DovecotServer, mail_user: MailUser
) -> None:
    wrong = MailUser(mail_user.username, "not-the-password")
    report = sync_mail(mail_config(org, app_url, dovecot, wrong))
    assert report.status == "failed"
    assert (
        report.error is not None
        and "IMAP login refused" in report.error
        and "not-the-password" not in report.error
    )
