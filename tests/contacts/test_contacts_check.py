"""``salesbridge check`` with a ``contacts`` section, against the test Radicale: the login, the address book
(there, or creatable without being left behind) and the Salesforce filter."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

from contacts_helpers import BOOK, AddressBookUser, contacts_config
from radicale_server import DavUser

from salesbridge.sandbox.server import RunningSandbox
from salesbridge.sync.check import check_hub

WRONG = "not-the-password-4711"


def check(config) -> tuple[list[str], list[str]]:  # noqa: ANN001 - HubConfig
    """(problems, lines reported as fine)."""
    fine: list[str] = []
    return check_hub(config, report=fine.append), fine


def book_names(person: AddressBookUser) -> list[str]:
    response = person.http.request("PROPFIND", person.home, headers={"Depth": "1"})
    names = ElementTree.fromstring(response.content).iter("{DAV:}displayname")
    return sorted(node.text or "" for node in names)


def test_an_existing_address_book_passes(tmp_path: Path, org: RunningSandbox, person: AddressBookUser) -> None:
    person.make_book("sf", BOOK)
    config = contacts_config(org, f"sqlite:///{tmp_path / 'hub.db'}", person)

    problems, fine = check(config)

    assert problems == []
    assert f"contacts.carddav: logged in to {person.server.url} as {person.user.username} (1 address book(s))" \
        in fine
    assert f"contacts.address_book: '{BOOK}' exists" in fine


def test_a_missing_address_book_is_reported_and_only_probed(
    tmp_path: Path, org: RunningSandbox, person: AddressBookUser
) -> None:
    person.make_book("family", "Family")
    config = contacts_config(org, f"sqlite:///{tmp_path / 'hub.db'}", person, address_book="Salesforce Contact")

    problems, fine = check(config)

    assert problems == [], "the flow would create it"
    assert ("contacts.address_book: there is no address book named 'Salesforce Contact' yet (found: 'Family'); "
            "it can be created, and the first contacts sync creates it") in fine
    assert book_names(person) == ["Family"], "the check leaves the server as it found it"


def test_a_wrong_password_and_a_bad_filter_are_reported(
    tmp_path: Path, org: RunningSandbox, person: AddressBookUser
) -> None:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    impostor = AddressBookUser(person.server, DavUser(person.user.username, WRONG))
    try:
        problems, _ = check(contacts_config(org, url, impostor))
    finally:
        impostor.close()

    assert problems == [f"contacts.carddav: cannot log in to {person.server.url} as {person.user.username}: the "
                        "server answered 401 (wrong user name or password)"]

    bad_filter = contacts_config(org, url, person, salesforce_filter="NoSuchField__c = 1")
    problems, _ = check(bad_filter)
    assert len(problems) == 1 and problems[0].startswith("contacts.salesforce_filter: INVALID_FIELD: ")
