"""End-to-end: a real CardDAV server (Radicale) and the sandbox org kept in step by the contacts flow."""

from __future__ import annotations

from typing import Any

import pytest
from contacts_helpers import BOOK, AddressBookUser, contacts_config, vcard
from sqlalchemy import create_engine, text

from salesbridge.flows.contacts import sync_contacts
from salesbridge.salesforce import SalesforceClient
from salesbridge.sandbox.server import RunningSandbox

CONTACT_FIELDS = "Id, FirstName, LastName, Email, Title, Phone, AccountId, Department, MailingCity"


def contacts(client: SalesforceClient) -> list[dict[str, Any]]:
    return client.query_all(f"SELECT {CONTACT_FIELDS} FROM Contact ORDER BY CreatedDate, Id")


def leads(client: SalesforceClient) -> list[dict[str, Any]]:
    return client.query_all(
        "SELECT Id, LastName, Company, Email, IsConverted FROM Lead ORDER BY CreatedDate, Id"
    )


def table(app_url: str, sql: str) -> list[dict[str, Any]]:
    engine = create_engine(app_url)
    try:
        with engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(text(sql))]
    finally:
        engine.dispose()


@pytest.fixture
def acme(sf_client: SalesforceClient) -> str:
    account = sf_client.create("Account", [{"Name": "Acme"}])[0].id
    assert account
    return account


def test_a_card_in_the_salesforce_address_book_becomes_a_contact_at_its_account(
    org: RunningSandbox, app_url: str, person: AddressBookUser, sf_client: SalesforceClient, acme: str
) -> None:
    book = person.make_book("sf", BOOK)
    person.put(
        book,
        "ann.vcf",
        vcard(
            "ann-1",
            "Archer",
            "Ann",
            email="Ann@Acme.example",
            org="Acme;Sales",
            title="CTO",
            phone="+1 555 0100",
            extra="PHOTO;VALUE=URI:https://x.test/a.png",
        ),
    )
    config = contacts_config(org, app_url, person)

    report = sync_contacts(config)

    assert report.status == "succeeded", report.problems
    assert report.count("created_in_salesforce") == 1
    [contact] = contacts(sf_client)
    assert {
        k: contact[k] for k in ("FirstName", "LastName", "Email", "Title", "Phone", "AccountId", "Department")
    } == {
        "FirstName": "Ann",
        "LastName": "Archer",
        "Email": "ann@acme.example",
        "Title": "CTO",
        "Phone": "+1 555 0100",
        "AccountId": acme,
        "Department": "Sales",
    }
    [link] = table(app_url, "SELECT uid, sf_object, sf_id, deleted FROM sb_card_links")
    assert (link["uid"], link["sf_object"], link["sf_id"], link["deleted"]) == (
        "ann-1",
        "Contact",
        contact["Id"],
        False,
    )

    again = sync_contacts(config)  # nothing changed on either side: nothing is written
    assert again.status == "succeeded"
    assert again.count("created_in_salesforce") + again.count("updated_in_salesforce") == 0
    assert again.count("cards_updated") + again.count("cards_created") == 0
    assert len(contacts(sf_client)) == 1


def test_a_card_with_the_category_in_another_book_is_shared_and_one_without_is_not(
    org: RunningSandbox, app_url: str, person: AddressBookUser, sf_client: SalesforceClient, acme: str
) -> None:
    personal = person.make_book("personal", "Personal")
    person.put(
        personal,
        "bo.vcf",
        vcard("bo-1", "Baker", "Bo", email="bo@newco.example", org="NewCo", categories="Friends,salesforce"),
    )
    person.put(
        personal,
        "cy.vcf",
        vcard("cy-1", "Cole", "Cy", email="cy@acme.example", org="Acme", categories="Salesforce"),
    )
    person.put(personal, "private.vcf", vcard("mum-1", "Mum", email="mum@home.example", categories="Family"))
    report = sync_contacts(contacts_config(org, app_url, person))

    assert report.status == "succeeded", report.problems
    # NewCo has no Account: shared as a Lead (no_account: lead, the default); Acme has one: a Contact
    assert [(lead["LastName"], lead["Company"], lead["Email"]) for lead in leads(sf_client)] == [
        ("Baker", "NewCo", "bo@newco.example")
    ]
    assert [(c["LastName"], c["AccountId"]) for c in contacts(sf_client)] == [("Cole", acme)]
    assert "mum@home.example" not in {c["Email"] for c in contacts(sf_client)}


def test_share_as_lead_and_no_account_skip_are_honoured(
    org: RunningSandbox, app_url: str, person: AddressBookUser, sf_client: SalesforceClient, acme: str
) -> None:
    book = person.make_book("sf", BOOK)
    person.put(book, "dee.vcf", vcard("dee-1", "Dunn", "Dee", email="dee@acme.example", org="Acme"))
    as_leads = sync_contacts(contacts_config(org, app_url, person, share_as="lead"))
    assert as_leads.count("created_in_salesforce") == 1
    assert [(lead["LastName"], lead["Company"]) for lead in leads(sf_client)] == [("Dunn", "Acme")]
    assert contacts(sf_client) == []

    person.put(book, "eve.vcf", vcard("eve-1", "Eve", email="eve@nowhere.example", org="Nowhere Inc"))
    skipping = sync_contacts(contacts_config(org, app_url, person, no_account="skip"))
    assert skipping.status == "partial"
    [problem] = skipping.problems
    assert (problem.key, problem.error_code) == ("eve-1", "NO_ACCOUNT")
    assert "no Account named 'Nowhere Inc'" in problem.message
    assert len(leads(sf_client)) == 1
    errors = table(app_url, "SELECT flow, app_key, error_code, status FROM sb_record_errors")
    assert errors == [{"flow": "contacts", "app_key": "eve-1", "error_code": "NO_ACCOUNT", "status": "open"}]


def test_a_card_of_someone_already_in_salesforce_is_linked_not_duplicated(
    org: RunningSandbox, app_url: str, person: AddressBookUser, sf_client: SalesforceClient, acme: str
) -> None:
    existing = sf_client.create(
        "Contact", [{"LastName": "Fox", "Email": "fay@acme.example", "AccountId": acme, "Title": "Buyer"}]
    )[0].id
    book = person.make_book("sf", BOOK)
    person.put(
        book, "fay.vcf", vcard("fay-1", "Fox", "Fay", email="FAY@acme.example", title="Head of Buying")
    )
    report = sync_contacts(contacts_config(org, app_url, person))
    assert report.count("linked_existing") == 1 and report.count("created_in_salesforce") == 0
    [contact] = contacts(sf_client)
    assert (contact["Id"], contact["FirstName"], contact["Title"]) == (existing, "Fay", "Head of Buying")


def test_edits_flow_both_ways_and_are_not_echoed(
    org: RunningSandbox, app_url: str, person: AddressBookUser, sf_client: SalesforceClient, acme: str
) -> None:
    book = person.make_book("sf", BOOK)
    person.put(
        book,
        "gil.vcf",
        vcard(
            "gil-1",
            "Gray",
            "Gil",
            email="gil@acme.example",
            org="Acme",
            title="Dev",
            extra="X-SOCIAL:@gil\r\nTEL;TYPE=HOME:+1 555 0199",
        ),
    )
    config = contacts_config(org, app_url, person)
    assert sync_contacts(config).count("created_in_salesforce") == 1
    [contact] = contacts(sf_client)

    person.edit(book, "gil.vcf", title="Lead Developer")  # edited in the address book
    report = sync_contacts(config)
    assert report.count("updated_in_salesforce") == 1 and report.count("cards_updated") == 0
    assert contacts(sf_client)[0]["Title"] == "Lead Developer"

    sf_client.update("Contact", [{"Id": contact["Id"], "Phone": "+49 30 1234", "MailingCity": "Berlin"}])
    report = sync_contacts(config)  # edited in Salesforce
    assert report.count("cards_updated") == 1 and report.count("updated_in_salesforce") == 0
    card = person.get(book, "gil.vcf")
    phones = {(tuple(line.params.get("TYPE", [])), line.value) for line in card.contents["tel"]}
    assert phones == {(("WORK",), "+49 30 1234"), (("HOME",), "+1 555 0199")}
    assert card.adr.value.city == "Berlin"
    assert card.title.value == "Lead Developer"
    assert card.contents["x-social"][0].value == "@gil"  # what the hub does not manage is kept

    quiet = sync_contacts(config)  # neither our card write nor our Salesforce write comes back as a change
    assert quiet.count("updated_in_salesforce") + quiet.count("cards_updated") == 0, quiet.counts
    assert quiet.status == "succeeded"


@pytest.mark.parametrize(
    "policy, expected_title", [("salesforce_wins", "From Salesforce"), ("card_wins", "From the card")]
)
def test_a_record_changed_on_both_sides_follows_the_conflict_policy_and_is_recorded(
    org: RunningSandbox,
    app_url: str,
    person: AddressBookUser,
    sf_client: SalesforceClient,
    acme: str,
    policy: str,
    expected_title: str,
) -> None:
    book = person.make_book("sf", BOOK)
    person.put(book, "hal.vcf", vcard("hal-1", "Hale", email="hal@acme.example", org="Acme", title="Old"))
    config = contacts_config(org, app_url, person, conflict=policy)
    sync_contacts(config)
    [contact] = contacts(sf_client)
    person.edit(book, "hal.vcf", title="From the card")
    sf_client.update("Contact", [{"Id": contact["Id"], "Title": "From Salesforce"}])

    report = sync_contacts(config)
    assert report.count("conflicts") == 1
    assert contacts(sf_client)[0]["Title"] == expected_title
    assert person.get(book, "hal.vcf").title.value == expected_title
    [conflict] = table(app_url, "SELECT flow, app_key, policy, winner FROM sb_conflicts")
    assert conflict == {
        "flow": "contacts",
        "app_key": "hal-1",
        "policy": policy,
        "winner": "salesforce" if policy == "salesforce_wins" else "app",
    }
    assert sync_contacts(config).count("conflicts") == 0


def test_salesforce_contacts_matching_the_filter_appear_in_the_address_book(
    org: RunningSandbox, app_url: str, person: AddressBookUser, sf_client: SalesforceClient, acme: str
) -> None:
    ids = [
        result.id
        for result in sf_client.create(
            "Contact",
            [
                {
                    "LastName": "Ito",
                    "FirstName": "Ina",
                    "Email": "ina@acme.example",
                    "AccountId": acme,
                    "MailingCity": "Berlin",
                    "Title": "CFO",
                },
                {"LastName": "Jones", "Email": "jo@acme.example", "AccountId": acme, "MailingCity": "Paris"},
            ],
        )
    ]
    config = contacts_config(org, app_url, person, salesforce_filter="MailingCity = 'Berlin'")
    report = sync_contacts(config)
    assert report.count("cards_created") == 1, report.problems
    book = person.book_url("salesforce-contacts")  # made by the hub, named as configured
    cards = person.cards(book)
    [(uid, card)] = cards.items()
    assert (card.fn.value, card.email.value, card.title.value, card.org.value) == (
        "Ina Ito",
        "ina@acme.example",
        "CFO",
        ["Acme"],
    )
    assert card.categories.value == ["Salesforce"]
    assert sync_contacts(config).count("cards_created") == 0

    person.edit(book, f"{uid}.vcf", title="CEO")  # the card is a twin like any other: edits go back
    assert sync_contacts(config).count("updated_in_salesforce") == 1
    assert sf_client.get("Contact", ids[0], ["Title"])["Title"] == "CEO"

    sf_client.delete([ids[0]])  # deleted in Salesforce: the card the hub made goes too
    report = sync_contacts(config)
    assert report.count("cards_deleted") == 1
    assert person.cards(book) == {}

    sf_client.update("Contact", [{"Id": ids[1], "MailingCity": "Berlin"}])  # now matches the filter
    assert sync_contacts(config).count("cards_created") == 1
    assert [card.fn.value for card in person.cards(book).values()] == ["Jones"]


def test_a_card_removed_from_the_address_book_ends_the_link_and_keeps_the_record(
    org: RunningSandbox, app_url: str, person: AddressBookUser, sf_client: SalesforceClient, acme: str
) -> None:
    book = person.make_book("sf", BOOK)
    person.put(book, "kim.vcf", vcard("kim-1", "Kim", email="kim@acme.example", org="Acme"))
    config = contacts_config(org, app_url, person, salesforce_filter="Email != null")
    sync_contacts(config)
    [contact] = contacts(sf_client)
    person.delete(book, "kim.vcf")
    report = sync_contacts(config)
    assert report.count("unlinked") == 1
    assert [c["Id"] for c in contacts(sf_client)] == [contact["Id"]]
    sf_client.update("Contact", [{"Id": contact["Id"], "Title": "Changed later"}])
    assert sync_contacts(config).count("cards_created") == 0  # a card the person removed does not come back
    assert person.cards(book) == {}


def test_a_bad_vcard_is_reported_and_does_not_stop_the_others(
    org: RunningSandbox, app_url: str, person: AddressBookUser, sf_client: SalesforceClient, acme: str
) -> None:
    book = person.make_book("sf", BOOK)
    person.put(
        book, "noname.vcf", "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:noname-1\r\nN:;;;;\r\nFN:\r\nEND:VCARD\r\n"
    )
    person.put(book, "bademail.vcf", vcard("bad-email-1", "Broken", email="not an address", org="Acme"))
    person.put(book, "lee.vcf", vcard("lee-1", "Lee", email="lee@acme.example", org="Acme"))
    report = sync_contacts(contacts_config(org, app_url, person))
    assert report.status == "partial"
    assert report.count("created_in_salesforce") == 1
    problems = sorted(
        (problem.key.rsplit("/", 1)[-1], problem.error_code, problem.message) for problem in report.problems
    )
    assert problems == [
        (
            "bad-email-1",
            "INVALID_EMAIL_ADDRESS",
            "create Contact: Email: invalid email address: not an address",
        ),
        ("noname.vcf", "INVALID_VCARD", "card noname-1: no name (N, FN, ORG or EMAIL) to use as a last name"),
    ]
    assert [c["LastName"] for c in contacts(sf_client)] == ["Lee"]
    errors = table(app_url, "SELECT app_key, error_code FROM sb_record_errors ORDER BY app_key")
    assert [e["error_code"] for e in errors] == ["INVALID_EMAIL_ADDRESS", "INVALID_VCARD"]

    person.put(book, "bademail.vcf", vcard("bad-email-1", "Broken", email="fixed@acme.example", org="Acme"))
    fixed = sync_contacts(contacts_config(org, app_url, person))
    assert fixed.count("created_in_salesforce") == 1
    assert {
        e["error_code"]: e["status"]
        for e in table(app_url, "SELECT error_code, status FROM sb_record_errors")
    } == {"INVALID_EMAIL_ADDRESS": "resolved", "INVALID_VCARD": "open"}


def test_a_converted_lead_is_followed_to_its_contact_and_never_written_again(
    org: RunningSandbox, app_url: str, person: AddressBookUser, sf_client: SalesforceClient
) -> None:
    book = person.make_book("sf", BOOK)
    person.put(
        book, "max.vcf", vcard("max-1", "Moss", "Max", email="max@prospect.example", org="Prospect Ltd")
    )
    config = contacts_config(org, app_url, person)
    assert sync_contacts(config).count("created_in_salesforce") == 1
    [lead] = leads(sf_client)
    converted = sf_client.convert_lead(lead["Id"], "Closed - Converted", do_not_create_opportunity=True)

    report = sync_contacts(config)
    assert report.count("followed_conversions") == 1
    [link] = table(app_url, "SELECT sf_object, sf_id FROM sb_card_links")
    assert link == {"sf_object": "Contact", "sf_id": converted["contactId"]}

    person.edit(book, "max.vcf", title="Owner")
    report = sync_contacts(config)
    assert report.status == "succeeded", report.problems
    assert sf_client.get("Contact", converted["contactId"], ["Title"])["Title"] == "Owner"
    assert leads(sf_client)[0]["IsConverted"] is True
