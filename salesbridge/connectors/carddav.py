"""A CardDAV server (RFC 6352) through plain WebDAV requests: address books, card listings, reads and writes.

Why ``requests`` and ``xml.etree`` rather than a CardDAV library: the flow needs six requests (PROPFIND for
discovery and listings, REPORT addressbook-multiget, MKCOL, PUT and DELETE with ETag preconditions), and the
maintained Python DAV clients are CalDAV-first; ``requests`` is already a dependency and makes TLS, auth and
redirects the same as for Salesforce.

Writes are conditional: an update sends ``If-Match`` with the ETag the hub last saw and a create sends
``If-None-Match: *``, so an edit made in the address book since the hub read the card is never overwritten
(the server answers 412 and the next run sees the edit). Hrefs are kept as absolute URLs.
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import quote, unquote, urljoin, urlsplit

import requests

DAV = "DAV:"
CARDDAV = "urn:ietf:params:xml:ns:carddav"
#: Cards per addressbook-multiget REPORT.
MULTIGET_CHUNK = 100
VCARD_TYPE = "text/vcard; charset=utf-8"


class CardDavError(Exception):
    """The server refused a request or answered something we cannot read; ``status`` is the HTTP status."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class PreconditionFailed(CardDavError):
    """The card changed on the server since its ETag was read (412): re-read it before writing."""


@dataclass(frozen=True)
class AddressBook:
    url: str
    name: str


@dataclass(frozen=True)
class Card:
    href: str
    etag: str | None
    text: str


def _tag(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}"


def _propfind_body(*props: tuple[str, str]) -> bytes:
    root = ET.Element(_tag(DAV, "propfind"))
    prop = ET.SubElement(root, _tag(DAV, "prop"))
    for namespace, name in props:
        ET.SubElement(prop, _tag(namespace, name))
    return ET.tostring(root, xml_declaration=True, encoding="utf-8")


class CardDavClient:
    """One CardDAV account. ``url`` may be the server root, the user's principal or the address book home."""

    def __init__(
        self,
        url: str,
        username: str | None = None,
        password: str | None = None,
        *,
        verify: bool | str = True,
        timeout: float = 60.0,
    ) -> None:
        self.url = url if url.endswith("/") else url + "/"
        self.session = requests.Session()
        self.session.verify = verify
        if username is not None:
            self.session.auth = (username, password or "")
        self.timeout = timeout
        self._home: str | None = None

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> CardDavClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- discovery -------------------------------------------------------------------------------------------
    def home(self) -> str:
        """The address book home (RFC 6352 7.1.1), found from the configured URL via the current principal."""
        if self._home is None:
            props = self._props(
                self.url,
                [(DAV, "current-user-principal"), (CARDDAV, "addressbook-home-set"), (DAV, "resourcetype")],
            )
            home = _href_in(props.get(_tag(CARDDAV, "addressbook-home-set")))
            if home is None:
                principal = _href_in(props.get(_tag(DAV, "current-user-principal")))
                if principal is not None:
                    principal_props = self._props(
                        urljoin(self.url, principal), [(CARDDAV, "addressbook-home-set")]
                    )
                    home = _href_in(principal_props.get(_tag(CARDDAV, "addressbook-home-set")))
            self._home = urljoin(self.url, home) if home else self.url
        return self._home

    def address_books(self) -> list[AddressBook]:
        answer = self._request(
            "PROPFIND",
            self.home(),
            depth="1",
            body=_propfind_body((DAV, "resourcetype"), (DAV, "displayname")),
        )
        books = []
        for href, props in _multistatus(answer, self.home()):
            kinds = props.get(_tag(DAV, "resourcetype"))
            if kinds is None or kinds.find(_tag(CARDDAV, "addressbook")) is None:
                continue
            name_node = props.get(_tag(DAV, "displayname"))
            name = (name_node.text or "").strip() if name_node is not None else ""
            books.append(
                AddressBook(href, name or unquote(urlsplit(href).path.rstrip("/").rsplit("/", 1)[-1]))
            )
        return books

    def create_address_book(self, name: str) -> AddressBook:
        """Make an address book called ``name`` in the home (extended MKCOL, RFC 5689)."""
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "address-book"
        existing = {book.url for book in self.address_books()}
        url = urljoin(self.home(), quote(slug) + "/")
        if url in existing:
            url = urljoin(self.home(), f"{quote(slug)}-{uuid.uuid4().hex[:8]}/")
        root = ET.Element(_tag(DAV, "mkcol"))
        prop = ET.SubElement(ET.SubElement(root, _tag(DAV, "set")), _tag(DAV, "prop"))
        kinds = ET.SubElement(prop, _tag(DAV, "resourcetype"))
        ET.SubElement(kinds, _tag(DAV, "collection"))
        ET.SubElement(kinds, _tag(CARDDAV, "addressbook"))
        ET.SubElement(prop, _tag(DAV, "displayname")).text = name
        self._request(
            "MKCOL", url, body=ET.tostring(root, xml_declaration=True, encoding="utf-8"), ok=(200, 201)
        )
        return AddressBook(url, name)

    def delete_address_book(self, book: AddressBook) -> None:
        """Remove an address book and its cards (``salesbridge check`` removes the one it made to see that it
        could)."""
        self._request("DELETE", book.url, ok=(200, 204, 404))

    # -- cards -----------------------------------------------------------------------------------------------
    def etags(self, book: AddressBook) -> dict[str, str | None]:
        """Every card of a book by href, with its ETag (one PROPFIND, no card data)."""
        answer = self._request(
            "PROPFIND", book.url, depth="1", body=_propfind_body((DAV, "getetag"), (DAV, "resourcetype"))
        )
        found: dict[str, str | None] = {}
        for href, props in _multistatus(answer, book.url):
            if _same(href, book.url):
                continue
            kinds = props.get(_tag(DAV, "resourcetype"))
            if kinds is not None and kinds.find(_tag(DAV, "collection")) is not None:
                continue
            etag = props.get(_tag(DAV, "getetag"))
            found[href] = etag.text.strip() if etag is not None and etag.text else None
        return found

    def cards(self, book: AddressBook, hrefs: Sequence[str]) -> list[Card]:
        """The cards at ``hrefs`` (addressbook-multiget, a hundred per request)."""
        found = []
        for start in range(0, len(hrefs), MULTIGET_CHUNK):
            root = ET.Element(_tag(CARDDAV, "addressbook-multiget"))
            prop = ET.SubElement(root, _tag(DAV, "prop"))
            ET.SubElement(prop, _tag(DAV, "getetag"))
            ET.SubElement(prop, _tag(CARDDAV, "address-data"))
            for href in hrefs[start : start + MULTIGET_CHUNK]:
                ET.SubElement(root, _tag(DAV, "href")).text = urlsplit(href).path
            answer = self._request(
                "REPORT", book.url, depth="1", body=ET.tostring(root, xml_declaration=True, encoding="utf-8")
            )
            for href, props in _multistatus(answer, book.url):
                data = props.get(_tag(CARDDAV, "address-data"))
                if data is None or not data.text:
                    continue
                etag = props.get(_tag(DAV, "getetag"))
                found.append(
                    Card(href, etag.text.strip() if etag is not None and etag.text else None, data.text)
                )
        return found

    @staticmethod
    def card_href(book: AddressBook, uid: str) -> str:
        """Where a new card with this UID is stored (its name is the UID, made URL-safe)."""
        return urljoin(book.url, quote(re.sub(r"[^A-Za-z0-9@._-]", "-", uid)) + ".vcf")

    def create_card(self, book: AddressBook, uid: str, text: str) -> str | None:
        """Store a new card named after its UID; answers its ETag. Never replaces an existing resource."""
        return self.put_card(self.card_href(book, uid), text, etag=None)

    def put_card(self, href: str, text: str, etag: str | None) -> str | None:
        """Write a card: an update when ``etag`` is given (If-Match), else a create (If-None-Match: *).

        Answers the new ETag (from the answer, or read back when the server sends none). Raises
        PreconditionFailed when the card changed (or appeared) meanwhile.
        """
        headers = {"Content-Type": VCARD_TYPE}
        if etag is not None:
            headers["If-Match"] = etag
        else:
            headers["If-None-Match"] = "*"
        response = self._request("PUT", href, body=text.encode("utf-8"), headers=headers, ok=(200, 201, 204))
        new_etag = response.headers.get("ETag")
        if new_etag:
            return new_etag
        props = self._props(href, [(DAV, "getetag")])
        node = props.get(_tag(DAV, "getetag"))
        return node.text.strip() if node is not None and node.text else None

    def delete_card(self, href: str, etag: str | None) -> None:
        headers = {"If-Match": etag} if etag else {}
        self._request("DELETE", href, headers=headers, ok=(200, 204, 404))

    # -- HTTP ------------------------------------------------------------------------------------------------
    def _props(self, url: str, props: Iterable[tuple[str, str]]) -> dict[str, ET.Element]:
        answer = self._request("PROPFIND", url, depth="0", body=_propfind_body(*props))
        for _href, found in _multistatus(answer, url):
            return found
        return {}

    def _request(
        self,
        method: str,
        url: str,
        *,
        depth: str | None = None,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        ok: Sequence[int] = (207,),
    ) -> requests.Response:
        all_headers = dict(headers or {})
        if depth is not None:
            all_headers["Depth"] = depth
        if body is not None and "Content-Type" not in all_headers:
            all_headers["Content-Type"] = "application/xml; charset=utf-8"
        try:
            response = self.session.request(method, url, data=body, headers=all_headers, timeout=self.timeout)
        except requests.RequestException as error:
            raise CardDavError(f"CardDAV {method} {url} failed: {error}") from None
        if response.status_code == 412:
            raise PreconditionFailed(f"CardDAV {method} {url}: the resource changed meanwhile (412)", 412)
        if response.status_code not in ok:
            reason = response.text.strip()[:300] or response.reason
            raise CardDavError(
                f"CardDAV {method} {url} answered {response.status_code}: {reason}", response.status_code
            )
        return response


def _multistatus(response: requests.Response, base: str) -> list[tuple[str, dict[str, ET.Element]]]:
    """(absolute href, {property tag: element}) for each response of a 207 answer, 200 propstats only."""
    try:
        root = ET.fromstring(response.content)
    except ET.ParseError as error:
        raise CardDavError(f"unreadable WebDAV answer from {response.url}: {error}") from None
    results = []
    for item in root.findall(_tag(DAV, "response")):
        href_node = item.find(_tag(DAV, "href"))
        if href_node is None or not href_node.text:
            continue
        props: dict[str, ET.Element] = {}
        for propstat in item.findall(_tag(DAV, "propstat")):
            status = propstat.findtext(_tag(DAV, "status")) or ""
            if " 200 " not in f"{status} ":
                continue
            prop = propstat.find(_tag(DAV, "prop"))
            for child in prop if prop is not None else []:
                props[child.tag] = child
        results.append((urljoin(base, href_node.text.strip()), props))
    return results


def _href_in(node: ET.Element | None) -> str | None:
    if node is None:
        return None
    href = node.find(_tag(DAV, "href"))
    return href.text.strip() if href is not None and href.text else None


def _same(first: str, second: str) -> bool:
    return unquote(urlsplit(first).path).rstrip("/") == unquote(urlsplit(second).path).rstrip("/")
