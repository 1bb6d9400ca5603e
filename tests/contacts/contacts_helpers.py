"""Helpers for the contacts tests: an address book app's moves over plain WebDAV, cards, and a hub config."""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin
from xml.etree import ElementTree

import requests
import vobject
from radicale_server import DavUser, RadicaleServer

from salesbridge.sandbox.server import RunningSandbox
from salesbridge.sync.config import HubConfig, parse_config

BOOK = "Salesforce Contacts"

MKCOL = """<?xml version="1.0" encoding="utf-8"?>
<D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop>
<D:resourcetype><D:collection/><C:addressbook/></D:resourcetype><D:displayname>{name}</D:displayname>
</D:prop></D:set></D:mkcol>"""


def vcard(
    uid: str,
    last: str,
    first: str = "",
    *,
    email: str | None = None,
    org: str | None = None,
    title: str | None = None,
    phone: str | None = None,
    categories: str | None = None,
    extra: str = "",
) -> str:
    lines = [
        "BEGIN:VCARD",
        "VERSION:3.0",
        f"UID:{uid}",
        f"N:{last};{first};;;",
        f"FN:{(first + ' ' + last).strip()}",
    ]
    if email:
        lines.append(f"EMAIL;TYPE=INTERNET:{email}")
    if org:
        lines.append(f"ORG:{org}")
    if title:
        lines.append(f"TITLE:{title}")
    if phone:
        lines.append(f"TEL;TYPE=WORK:{phone}")
    if categories:
        lines.append(f"CATEGORIES:{categories}")
    if extra:
        lines.append(extra)
    lines.append("END:VCARD")
    return "\r\n".join(lines) + "\r\n"


class AddressBookUser:
    """What a person's address book app does on the CardDAV server (plain HTTP, not the hub's connector)."""

    def __init__(self, server: RadicaleServer, user: DavUser) -> None:
        self.server = server
        self.user = user
        self.http = requests.Session()
        self.http.auth = (user.username, user.password)
        self.home = urljoin(server.url, f"{user.username}/")
        self.http.request(
            "PROPFIND", self.home, headers={"Depth": "0"}
        )  # Radicale makes the home on first use

    def close(self) -> None:
        self.http.close()

    def book_url(self, slug: str) -> str:
        return urljoin(self.home, f"{slug}/")

    def make_book(self, slug: str, name: str) -> str:
        url = self.book_url(slug)
        response = self.http.request(
            "MKCOL", url, data=MKCOL.format(name=name).encode(), headers={"Content-Type": "application/xml"}
        )
        assert response.status_code == 201, response.text
        return url

    def put(self, book_url: str, name: str, text: str) -> None:
        response = self.http.put(
            urljoin(book_url, name), data=text.encode(), headers={"Content-Type": "text/vcard"}
        )
        assert response.status_code in (201, 204), response.text

    def get(self, book_url: str, name: str) -> vobject.base.Component:
        response = self.http.get(urljoin(book_url, name))
        assert response.status_code == 200, response.text
        return vobject.readOne(response.text)

    def delete(self, book_url: str, name: str) -> None:
        assert self.http.delete(urljoin(book_url, name)).status_code in (200, 204)

    def cards(self, book_url: str) -> dict[str, vobject.base.Component]:
        """Every card of a book by UID (PROPFIND for names, then GET each: what a simple client does)."""
        response = self.http.request("PROPFIND", book_url, headers={"Depth": "1"})
        hrefs = ElementTree.fromstring(response.content).iter("{DAV:}href")
        names = [(href.text or "").rsplit("/", 1)[-1] for href in hrefs]
        found = {}
        for name in names:
            if name.endswith(".vcf"):
                card = self.get(book_url, name)
                found[card.uid.value] = card
        return found

    def edit(self, book_url: str, name: str, **changes: Any) -> None:
        """Change properties of a card, as an app would (the rest of the card is kept)."""
        card = self.get(book_url, name)
        for prop, value in changes.items():
            for line in list(card.contents.get(prop, [])):
                card.remove(line)
            if value is not None:
                card.add(prop).value = value
        self.put(book_url, name, card.serialize())


def contacts_config(org: RunningSandbox, app_url: str, person: AddressBookUser, **contacts: Any) -> HubConfig:
    return parse_config(
        {
            "connections": {
                "salesforce": {
                    "login_url": org.url,
                    "client_id": "salesbridge",
                    "client_secret": "salesbridge-secret",
                    "username": "admin@sandbox.example",
                    "password": "sandbox-pass",
                    "verify": str(org.ca_path),
                },
                "app": {"url": app_url},
            },
            "contacts": {
                "carddav": {
                    "url": person.server.url,
                    "username": person.user.username,
                    "password": person.user.password,
                },
                **contacts,
            },
        },
        "test.yaml",
    )
