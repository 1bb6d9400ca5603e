"""Reading and writing vCards for the contacts flow (pure)."""

from __future__ import annotations

import pytest

from salesbridge.connectors._vcard import VCardError, read_card, values_hash, write_card
from salesbridge.flows.contacts import carried, sf_payload, sf_values

CARD = """BEGIN:VCARD
VERSION:3.0
UID:u-1
FN:Ann Archer
N:Archer;Ann;;;
EMAIL;TYPE=INTERNET:second@acme.example
EMAIL;TYPE=INTERNET,PREF:Ann@Acme.example
TEL;TYPE=CELL:+1 555 1
TEL;TYPE=WORK,VOICE:+1 555 2
TEL;TYPE=FAX:+1 555 3
ORG:Acme;Sales
TITLE:CTO
ADR;TYPE=HOME:;;9 Home Rd;Hometown;;;
ADR;TYPE=WORK:;;1 Main St;Springfield;IL;62701;USA
NOTE:Met at the fair\\, nice.
CATEGORIES:Friends,Salesforce
PHOTO;VALUE=URI:https://example.test/ann.png
BDAY:1980-02-03
END:VCARD
"""


def test_a_card_reads_as_person_values() -> None:
    card = read_card(CARD)
    assert card.uid == "u-1"
    assert card.values == {
        "FirstName": "Ann",
        "LastName": "Archer",
        "Email": "ann@acme.example",
        "Phone": "+1 555 2",
        "MobilePhone": "+1 555 1",
        "Title": "CTO",
        "Department": "Sales",
        "Org": "Acme",
        "Street": "1 Main St",
        "City": "Springfield",
        "State": "IL",
        "PostalCode": "62701",
        "Country": "USA",
        "Description": "Met at the fair, nice.",
    }
    assert card.has_category("salesforce") and not card.has_category("Family")


def test_writing_back_edits_only_what_the_hub_manages() -> None:
    values = dict(read_card(CARD).values, Title="CEO", Phone=None, City="Shelbyville")
    text = write_card(values, "u-1", CARD)
    again = read_card(text)
    assert again.values == {**values, "Phone": None}
    for kept in (
        "PHOTO;VALUE=URI:https://example.test/ann.png",
        "BDAY:1980-02-03",
        "second@acme.example",
        "TEL;TYPE=FAX:+1 555 3",
        "9 Home Rd",
        "CATEGORIES:Friends,Salesforce",
    ):
        assert kept in text
    assert again.revision is not None


def test_a_new_card_has_the_values_and_categories() -> None:
    text = write_card(
        {"FirstName": "Bo", "LastName": "Baker", "Email": "bo@x.example", "Org": "X"},
        "new-1",
        categories=["Salesforce"],
    )
    card = read_card(text)
    assert (card.uid, card.values["LastName"], card.values["Org"], card.categories) == (
        "new-1",
        "Baker",
        "X",
        ["Salesforce"],
    )
    assert "VERSION:3.0" in text and "FN:Bo Baker" in text


@pytest.mark.parametrize(
    "text, message",
    [
        ("not a card", "not a readable vCard"),
        ("BEGIN:VCALENDAR\nVERSION:2.0\nEND:VCALENDAR\n", "not a vCard but a VCALENDAR"),
        ("BEGIN:VCARD\nVERSION:3.0\nFN:No Uid\nN:Uid;No;;;\nEND:VCARD\n", "the card has no UID"),
        ("BEGIN:VCARD\nVERSION:3.0\nUID:x\nN:;;;;\nFN:\nEND:VCARD\n", "card x: no name"),
    ],
)
def test_unusable_cards_say_why(text: str, message: str) -> None:
    with pytest.raises(VCardError, match=message):
        read_card(text)


def test_a_card_without_n_uses_fn_org_or_email_for_the_name() -> None:
    assert (
        read_card("BEGIN:VCARD\nVERSION:3.0\nUID:a\nFN:Cy de Cole\nEND:VCARD\n").values["LastName"] == "Cole"
    )
    assert (
        read_card("BEGIN:VCARD\nVERSION:4.0\nUID:b\nFN:\nEMAIL:dee@x.example\nEND:VCARD\n").values["LastName"]
        == "dee"
    )


def test_salesforce_values_and_payloads_per_object() -> None:
    contact = {
        "FirstName": "Ann",
        "LastName": "Archer",
        "Email": "Ann@Acme.example",
        "Department": "Sales",
        "MailingCity": "Springfield",
        "Account": {"Name": "Acme"},
        "Phone": None,
    }
    values = sf_values(contact, "Contact")
    assert (
        values["Org"] == "Acme" and values["City"] == "Springfield" and values["Email"] == "ann@acme.example"
    )
    card = read_card(CARD).values
    assert "Department" not in carried(card, "Lead")
    assert values_hash(carried(card, "Lead")) == values_hash(carried({**card, "Department": "Other"}, "Lead"))
    lead = sf_payload({"LastName": "Lee"}, "Lead")
    assert lead["Company"] == "[not provided]" and lead["LastName"] == "Lee"
    assert (
        "Company" not in sf_payload(card, "Contact")
        and sf_payload(card, "Contact")["MailingCity"] == "Springfield"
    )
