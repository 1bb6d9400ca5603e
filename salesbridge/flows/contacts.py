"""The contacts flow: a CardDAV address book and Salesforce Contacts and Leads, kept in step both ways.

What is shared: every card in the address book ``contacts.address_book`` ("Salesforce Contacts") and every
card of any other book whose CATEGORIES contain ``contacts.category`` ("Salesforce"). A shared card becomes a
Contact at the Account named by its ORG (``share_as: lead``: a Lead); with no such Account, ``no_account``
makes it a Lead or skips it (a record error). Before creating, the card's e-mail address is looked up (one
query for all new cards), so that sharing a card of someone already in Salesforce links to them instead of
duplicating them. Salesforce Contacts matching ``contacts.salesforce_filter`` appear in the address book.

Each run:

1. lists every book's cards with their ETags (one PROPFIND a book) and downloads only cards that are new or
   changed since the last run (addressbook-multiget);
2. reads the Contacts and Leads changed in Salesforce since the watermark (SystemModstamp minus the overlap,
   deleted ones too); a linked Lead that was converted is followed to its Contact, never written again;
3. per linked card decides: card changed -> update Salesforce; Salesforce changed -> update the card (only the
   fields the hub manages; the rest of the card is kept); both -> the ``conflict`` policy decides and the
   conflict is recorded; card deleted or unshared -> the link ends (nothing is deleted in Salesforce);
   record deleted -> the link ends and a card in the Salesforce address book is removed;
4. writes Salesforce through sObject Collections (creates and updates, 200 a call), reads the written records
   back in one query per object to remember exactly what Salesforce now holds (echo suppression), and writes
   cards with ETag preconditions (an edit made meanwhile is never overwritten).

A card that cannot be read is reported (``INVALID_VCARD``, with the card's href) and the rest go on.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from salesbridge.connectors._vcard import (
    PERSON_FIELDS,
    ParsedCard,
    Values,
    VCardError,
    normalise,
    read_card,
    values_hash,
    write_card,
)
from salesbridge.connectors.carddav import AddressBook, Card, CardDavClient, CardDavError, PreconditionFailed
from salesbridge.flows._runtime import FlowReport, Problem, Runtime, chunks
from salesbridge.salesforce import SalesforceClient, SalesforceError, WriteResult
from salesbridge.salesforce.datetimes import parse_datetime
from salesbridge.salesforce.soql import quote, quote_list
from salesbridge.store import repository as repo
from salesbridge.store.mail_models import CardLink
from salesbridge.sync.config import ContactsConfig, HubConfig

log = logging.getLogger(__name__)

FLOW = "contacts"
WATERMARK = "sf_modstamp"
SEEN_CARDS = "seen_cards"
#: Company of a Lead made from a card without ORG (Lead.Company is required).
NO_COMPANY = "[not provided]"

#: Person value -> Salesforce field, per object. A Contact's ORG is its Account's name (read through
#: ``Account.Name``, written by finding the Account); a Lead keeps it in Company and has no Department.
FIELD_MAPS: dict[str, dict[str, str]] = {
    "Contact": {
        "FirstName": "FirstName",
        "LastName": "LastName",
        "Email": "Email",
        "Phone": "Phone",
        "MobilePhone": "MobilePhone",
        "Title": "Title",
        "Department": "Department",
        "Street": "MailingStreet",
        "City": "MailingCity",
        "State": "MailingState",
        "PostalCode": "MailingPostalCode",
        "Country": "MailingCountry",
        "Description": "Description",
    },
    "Lead": {
        "FirstName": "FirstName",
        "LastName": "LastName",
        "Email": "Email",
        "Phone": "Phone",
        "MobilePhone": "MobilePhone",
        "Title": "Title",
        "Org": "Company",
        "Street": "Street",
        "City": "City",
        "State": "State",
        "PostalCode": "PostalCode",
        "Country": "Country",
        "Description": "Description",
    },
}
#: The person values each object carries (what is compared and written for it).
CARRIED = {
    "Contact": tuple(name for name in PERSON_FIELDS if name in FIELD_MAPS["Contact"] or name == "Org"),
    "Lead": tuple(name for name in PERSON_FIELDS if name in FIELD_MAPS["Lead"]),
}
SYSTEM_FIELDS = ("Id", "SystemModstamp", "LastModifiedDate", "IsDeleted")


class ContactsSyncError(Exception):
    """The run cannot start (no contacts configuration)."""


def carried(values: Values, sf_object: str) -> Values:
    """Only the values ``sf_object`` keeps (so a Lead's missing Department is not a difference)."""
    return {name: values.get(name) for name in CARRIED[sf_object]}


def sf_values(record: dict[str, Any], sf_object: str) -> Values:
    """A Salesforce record as person values."""
    values: dict[str, object] = {
        person: record.get(sf_field) for person, sf_field in FIELD_MAPS[sf_object].items()
    }
    if sf_object == "Contact":
        account = record.get("Account")
        values["Org"] = account.get("Name") if isinstance(account, dict) else None
    if values.get("Email"):
        values["Email"] = str(values["Email"]).lower()
    return carried(normalise(values), sf_object)


def sf_payload(values: Values, sf_object: str) -> dict[str, Any]:
    """Person values as the fields of a Salesforce write (required fields filled)."""
    payload: dict[str, Any] = {
        sf_field: values.get(person) for person, sf_field in FIELD_MAPS[sf_object].items()
    }
    if sf_object == "Lead" and not payload.get("Company"):
        payload["Company"] = NO_COMPANY
    return payload


def select_fields(sf_object: str) -> str:
    names = [*SYSTEM_FIELDS, *FIELD_MAPS[sf_object].values()]
    if sf_object == "Contact":
        names += ["AccountId", "Account.Name"]
    else:
        names += ["IsConverted", "ConvertedContactId"]
    return ", ".join(dict.fromkeys(names))


def sync_contacts(
    config: HubConfig,
    *,
    client: SalesforceClient | None = None,
    engine: Engine | None = None,
    trigger: str = "manual",
) -> FlowReport:
    """Run the contacts flow once (the CLI, the scheduler and the API call this)."""
    if config.contacts is None:
        raise ContactsSyncError("no 'contacts' section in the configuration")
    return ContactsSync(Runtime.for_config(config, client, engine), config.contacts).run(trigger)


def carddav_client(contacts: ContactsConfig) -> CardDavClient:
    dav = contacts.carddav
    return CardDavClient(
        dav.url, dav.username, dav.password.get_secret_value() if dav.password else None, verify=dav.verify
    )


@dataclass
class SeenCard:
    book: AddressBook
    href: str
    etag: str | None
    text: str
    parsed: ParsedCard

    @property
    def uid(self) -> str:
        return self.parsed.uid


@dataclass
class Plan:
    """What one run will write, built before any write."""

    to_salesforce: list[tuple[CardLink | None, SeenCard, str, dict[str, Any]]] = field(default_factory=list)
    to_cards: list[tuple[CardLink, Values]] = field(default_factory=list)
    new_cards: list[dict[str, Any]] = field(default_factory=list)


class ContactsSync:
    """One configured contacts flow; ``run`` is a plain function of the address book, Salesforce and state."""

    def __init__(
        self,
        runtime: Runtime,
        contacts: ContactsConfig,
        dav_factory: Callable[[ContactsConfig], CardDavClient] = carddav_client,
    ) -> None:
        self.runtime = runtime
        self.client = runtime.client
        self.cfg = contacts
        self.dav_factory = dav_factory
        self.overlap = timedelta(seconds=runtime.config.settings.overlap_seconds)

    # -- the run ---------------------------------------------------------------------------------------------
    def run(self, trigger: str = "manual") -> FlowReport:
        report = FlowReport(FLOW)
        self.runtime.start(report, trigger)
        started = datetime.now(UTC)
        self._modstamps: list[str] = []
        try:
            with self.dav_factory(self.cfg) as dav:
                self._run(dav, report)
            self._move_watermark(started)
        except (CardDavError, SalesforceError, ContactsSyncError) as error:
            log.warning("contacts flow stopped: %s", error)
            report.error = f"{type(error).__name__}: {error}"
        self.runtime.finish(
            report,
            read=report.count("cards_read") + report.count("records_read"),
            written=sum(
                report.count(name)
                for name in (
                    "created_in_salesforce",
                    "updated_in_salesforce",
                    "cards_created",
                    "cards_updated",
                    "cards_deleted",
                )
            ),
        )
        return report

    def _run(self, dav: CardDavClient, report: FlowReport) -> None:
        target = self._target_book(dav)
        books = [target, *[book for book in dav.address_books() if book.url != target.url]]
        with self.runtime.session() as session:
            links = {link.uid: link for link in session.scalars(select(CardLink))}
        listings = {book.url: dav.etags(book) for book in books}
        cards = self._changed_cards(dav, books, listings, links, report)
        plan = Plan()
        self._card_side(target, listings, cards, links, report)
        changes = self._salesforce_changes(links, report)
        self._decide(links, cards, changes, plan, report, target, dav)
        self._share_new_cards(target, cards, links, plan, report)
        self._write_salesforce(plan, links, report)
        self._write_cards(dav, target, plan, links, report)
        self._new_cards_from_salesforce(dav, target, links, report)

    def _target_book(self, dav: CardDavClient) -> AddressBook:
        for book in dav.address_books():
            if book.name == self.cfg.address_book:
                return book
        return dav.create_address_book(self.cfg.address_book)

    # -- 1. the card side ------------------------------------------------------------------------------------
    def _changed_cards(
        self,
        dav: CardDavClient,
        books: list[AddressBook],
        listings: dict[str, dict[str, str | None]],
        links: dict[str, CardLink],
        report: FlowReport,
    ) -> dict[str, SeenCard]:
        """Download the cards that are new or changed since the last run; parse them (bad ones reported)."""
        by_href = {link.href: link for link in links.values() if not link.deleted}
        seen = self._seen_cards()
        cards: dict[str, SeenCard] = {}
        new_seen: dict[str, str | None] = {}
        for book in books:
            wanted = []
            for href, etag in listings[book.url].items():
                link = by_href.get(href)
                if link is not None and link.etag == etag and etag is not None:
                    continue
                if link is None and book.url != books[0].url and etag is not None and seen.get(href) == etag:
                    new_seen[href] = etag
                    continue
                wanted.append(href)
            for card in dav.cards(book, wanted):
                report.add("cards_read")
                try:
                    parsed = read_card(card.text)
                except VCardError as error:
                    self._problem(report, card.href, "INVALID_VCARD", str(error), "to_salesforce")
                    new_seen[card.href] = card.etag
                    continue
                if parsed.uid in cards:  # the same person twice: the linked copy (or the first) wins
                    link = links.get(parsed.uid)
                    if link is None or link.href != card.href:
                        continue
                cards[parsed.uid] = SeenCard(book, card.href, card.etag, card.text, parsed)
                if not self._is_shared(cards[parsed.uid]):
                    new_seen[card.href] = card.etag
        self._save_seen_cards(new_seen)
        return cards

    def _is_shared(self, card: SeenCard, target: AddressBook | None = None) -> bool:
        in_target = card.book.name == self.cfg.address_book if target is None else card.book.url == target.url
        return in_target or card.parsed.has_category(self.cfg.category)

    def _card_side(
        self,
        target: AddressBook,
        listings: dict[str, dict[str, str | None]],
        cards: dict[str, SeenCard],
        links: dict[str, CardLink],
        report: FlowReport,
    ) -> None:
        """Links whose card is gone or no longer shared end here (a tombstone keeps the reverse direction from
        putting the person back into the address book)."""
        present = {href for listing in listings.values() for href in listing}
        with self.runtime.session() as session:
            for uid, link in links.items():
                if link.deleted:
                    continue
                card = cards.get(uid)
                gone = card is None and link.href not in present
                unshared = card is not None and not self._is_shared(card, target)
                if gone or unshared:
                    self._end_link(session, link)
                    report.add("unlinked")

    # -- 2. the Salesforce side ------------------------------------------------------------------------------
    def _salesforce_changes(
        self, links: dict[str, CardLink], report: FlowReport
    ) -> dict[str, dict[str, Any]]:
        """Linked records changed since the watermark, by Id (deleted and converted ones included)."""
        mark = self._watermark()
        linked = {link.sf_id: link for link in links.values() if link.sf_id and not link.deleted}
        if mark is None or not linked:
            return {}
        since = quote(mark - self.overlap)
        changed: dict[str, dict[str, Any]] = {}
        for sf_object in ("Contact", "Lead"):
            if not any(link.sf_object == sf_object for link in linked.values()):
                continue
            for record in self.client.query_all(
                f"SELECT {select_fields(sf_object)} FROM {sf_object} WHERE SystemModstamp >= {since}",
                include_deleted=True,
            ):
                self._modstamps.append(record["SystemModstamp"])
                report.add("records_read")
                if record["Id"] in linked:
                    changed[record["Id"]] = {**record, "_object": sf_object}
        return changed

    # -- 3. decide -------------------------------------------------------------------------------------------
    def _decide(
        self,
        links: dict[str, CardLink],
        cards: dict[str, SeenCard],
        changes: dict[str, dict[str, Any]],
        plan: Plan,
        report: FlowReport,
        target: AddressBook,
        dav: CardDavClient,
    ) -> None:
        converted = self._follow_conversions(links, changes, report)
        with self.runtime.session() as session:
            for uid, link in links.items():
                if link.deleted or link.sf_id is None:
                    continue
                card = cards.get(uid)
                record = changes.get(link.sf_id) or converted.get(link.sf_id)
                if record is not None and record.get("IsDeleted"):
                    if link.address_book == target.url:
                        self._delete_card(dav, link, report)
                    self._end_link(session, link)
                    report.add("unlinked")
                    continue
                card_values = carried(card.parsed.values, link.sf_object) if card else None
                card_changed = card_values is not None and values_hash(card_values) != link.card_hash
                record_values = sf_values(record, link.sf_object) if record is not None else None
                sf_changed = record_values is not None and values_hash(record_values) != link.sf_hash
                if card is not None and not card_changed:
                    self._refresh_link(session, link, card)
                if card_changed and sf_changed:
                    winner = self._winner(card, record)  # type: ignore[arg-type]
                    repo.record_conflict(
                        session,
                        report.run_id,
                        FLOW,
                        uid,
                        link.sf_id,
                        self.cfg.conflict,
                        "app" if winner == "card" else "salesforce",
                        record_values or {},
                        card_values or {},
                    )
                    report.add("conflicts")
                    card_changed, sf_changed = winner == "card", winner != "card"
                if card_changed and card is not None:
                    plan.to_salesforce.append(
                        (link, card, link.sf_object, sf_payload(card.parsed.values, link.sf_object))
                    )
                elif sf_changed and record_values is not None:
                    plan.to_cards.append((link, record_values))
                    link.sf_modstamp = record.get("SystemModstamp")  # type: ignore[union-attr]

    def _follow_conversions(
        self, links: dict[str, CardLink], changes: dict[str, dict[str, Any]], report: FlowReport
    ) -> dict[str, dict[str, Any]]:
        """Links to Leads that were converted move to the converted Contact (a converted Lead can no longer be
        updated, and the person now lives in the Contact); answers the Contacts' records by Id."""
        moved = {
            record["Id"]: record["ConvertedContactId"]
            for record in changes.values()
            if record.get("_object") == "Lead"
            and record.get("IsConverted")
            and record.get("ConvertedContactId")
        }
        if not moved:
            return {}
        contacts = self._read("Contact", list(moved.values()))
        with self.runtime.session() as session:
            for link in links.values():
                if link.sf_id in moved and not link.deleted:
                    stored = session.get(CardLink, link.id)
                    link.sf_object = stored.sf_object = "Contact"  # type: ignore[union-attr]
                    link.sf_id = stored.sf_id = moved[link.sf_id]  # type: ignore[union-attr]
                    link.sf_hash = stored.sf_hash = None  # type: ignore[union-attr]
                    report.add("followed_conversions")
        return {record["Id"]: {**record, "_object": "Contact"} for record in contacts}

    def _winner(self, card: SeenCard, record: dict[str, Any]) -> str:
        if self.cfg.conflict == "card_wins":
            return "card"
        if self.cfg.conflict == "salesforce_wins":
            return "salesforce"
        changed = record.get("LastModifiedDate")
        if card.parsed.revision is None or not changed:
            return "card"
        return "card" if card.parsed.revision >= parse_datetime(changed) else "salesforce"

    # -- new shares ------------------------------------------------------------------------------------------
    def _share_new_cards(
        self,
        target: AddressBook,
        cards: dict[str, SeenCard],
        links: dict[str, CardLink],
        plan: Plan,
        report: FlowReport,
    ) -> None:
        new = [
            card
            for uid, card in cards.items()
            if self._is_shared(card, target) and (uid not in links or links[uid].deleted)
        ]
        if not new:
            return
        emails = sorted({card.parsed.values["Email"] for card in new if card.parsed.values.get("Email")})
        contacts = self._by_email("Contact", emails)
        leads = self._by_email("Lead", [email for email in emails if email not in contacts])
        accounts: dict[str, str] = {}
        if self.cfg.share_as == "contact":
            names = sorted({card.parsed.values["Org"] for card in new if card.parsed.values.get("Org")})
            accounts = self._accounts(names)
        taken = {link.sf_id for link in links.values() if link.sf_id and not link.deleted}
        for card in new:
            values = card.parsed.values
            email = values.get("Email")
            existing = contacts.get(email) if email else None
            sf_object = "Contact" if existing else None
            if existing is None and email and email in leads:
                existing, sf_object = leads[email], "Lead"
            if existing is not None and existing["Id"] in taken:
                existing = None  # already another card's twin: a second card of the same person gets its own
            if existing is not None:
                assert sf_object is not None
                payload = {
                    "Id": existing["Id"],
                    **{k: v for k, v in sf_payload(values, sf_object).items() if v is not None},
                }
                taken.add(existing["Id"])
                plan.to_salesforce.append((None, card, sf_object, payload))
                report.add("linked_existing")
                continue
            account_id = accounts.get((values.get("Org") or "").lower())
            if self.cfg.share_as == "lead" or account_id is None:
                if self.cfg.share_as == "contact" and self.cfg.no_account == "skip":
                    org = values.get("Org")
                    reason = f"no Account named '{org}'" if org else "the card has no ORG (company)"
                    self._problem(
                        report,
                        card.uid,
                        "NO_ACCOUNT",
                        f"{reason}; not shared (no_account: skip)",
                        "to_salesforce",
                        where=card.href,
                    )
                    continue
                plan.to_salesforce.append((None, card, "Lead", sf_payload(values, "Lead")))
            else:
                plan.to_salesforce.append(
                    (None, card, "Contact", {**sf_payload(values, "Contact"), "AccountId": account_id})
                )

    def _set_accounts(self, plan: Plan) -> None:
        """A Contact written from a card belongs to the Account its ORG names: one query for every name.
        When no Account has that name the Contact keeps the one it has."""
        wanted = [
            (card.parsed.values.get("Org"), payload)
            for _link, card, sf_object, payload in plan.to_salesforce
            if sf_object == "Contact" and "AccountId" not in payload
        ]
        accounts = self._accounts(sorted({org for org, _ in wanted if org}))
        for org, payload in wanted:
            account_id = accounts.get((org or "").lower())
            if account_id:
                payload["AccountId"] = account_id

    # -- 4. writes -------------------------------------------------------------------------------------------
    def _write_salesforce(self, plan: Plan, links: dict[str, CardLink], report: FlowReport) -> None:
        self._set_accounts(plan)
        groups: dict[tuple[str, str], list[tuple[CardLink | None, SeenCard, dict[str, Any]]]] = {}
        for link, card, sf_object, payload in plan.to_salesforce:
            operation = "update" if link is not None or "Id" in payload else "create"
            if link is not None:
                payload = {"Id": link.sf_id, **payload}
            groups.setdefault((operation, sf_object), []).append((link, card, payload))
        written: dict[str, list[tuple[str, SeenCard]]] = {}
        for (operation, sf_object), items in groups.items():
            payloads = [payload for _, _, payload in items]
            results = (self.client.create if operation == "create" else self.client.update)(
                sf_object, payloads
            )
            for (_link, card, _payload), result in zip(items, results, strict=True):
                if result.success and result.id:
                    written.setdefault(sf_object, []).append((result.id, card))
                    counter = "created_in_salesforce" if operation == "create" else "updated_in_salesforce"
                    report.add(counter)
                else:
                    self._refused(report, card.uid, result, f"{operation} {sf_object}", card.href)
        for sf_object, pairs in written.items():
            records = {
                record["Id"]: record for record in self._read(sf_object, [sf_id for sf_id, _ in pairs])
            }
            with self.runtime.session() as session:
                for sf_id, card in pairs:
                    record = records.get(sf_id)
                    self._save_link(session, links, card, sf_object, sf_id, record)
                    repo.resolve_errors(session, FLOW, app_key=card.uid)

    def _write_cards(
        self,
        dav: CardDavClient,
        target: AddressBook,
        plan: Plan,
        links: dict[str, CardLink],
        report: FlowReport,
    ) -> None:
        if not plan.to_cards:
            return
        books = {book.url: book for book in dav.address_books()}
        texts: dict[str, Card] = {}
        by_book: dict[str, list[str]] = {}
        for link, _values in plan.to_cards:
            by_book.setdefault(link.address_book, []).append(link.href)
        for book_url, hrefs in by_book.items():
            book = books.get(book_url) or AddressBook(book_url, "")
            texts.update({card.href: card for card in dav.cards(book, hrefs)})
        with self.runtime.session() as session:
            for link, values in plan.to_cards:
                current = texts.get(link.href)
                if current is None:
                    continue
                try:
                    existing = read_card(current.text)
                    merged = {**existing.values, **values}
                    text = write_card(merged, link.uid, current.text)
                    etag = dav.put_card(link.href, text, current.etag)
                except PreconditionFailed:
                    report.add("card_changed_meanwhile")  # the next run sees the card's edit
                    continue
                except VCardError as error:
                    self._problem(
                        report,
                        link.uid,
                        "INVALID_VCARD",
                        str(error),
                        "from_salesforce",
                        link.sf_id,
                        link.href,
                        session,
                    )
                    continue
                stored = session.get(CardLink, link.id)
                if stored is not None:
                    stored.etag = etag
                    stored.card_hash = values_hash(carried(read_card(text).values, link.sf_object))
                    stored.sf_hash = values_hash(values)
                    stored.sf_modstamp = link.sf_modstamp
                report.add("cards_updated")

    def _new_cards_from_salesforce(
        self, dav: CardDavClient, target: AddressBook, links: dict[str, CardLink], report: FlowReport
    ) -> None:
        """Contacts matching the filter that no card stands for yet get a card in the Salesforce address book.

        The card's UID comes from the Contact's Id, so a run that crashed after writing it finds it (412 on
        the create) instead of writing a second one. Contacts whose card a person removed (a tombstone) stay
        out."""
        if not self.cfg.salesforce_filter:
            return
        mark = self._watermark()
        condition = f"({self.cfg.salesforce_filter})"
        if mark is not None:
            condition += f" AND SystemModstamp >= {quote(mark - self.overlap)}"
        known = {link.sf_id for link in links.values() if link.sf_id}
        records = self.client.query_all(f"SELECT {select_fields('Contact')} FROM Contact WHERE {condition}")
        with self.runtime.session() as session:
            for record in records:
                self._modstamps.append(record["SystemModstamp"])
                report.add("records_read")
                if record["Id"] in known:
                    continue
                uid = f"salesforce-{record['Id']}"
                values = sf_values(record, "Contact")
                text = write_card(values, uid, categories=[self.cfg.category])
                href = dav.card_href(target, uid)
                try:
                    etag = dav.put_card(href, text, etag=None)
                    report.add("cards_created")
                except PreconditionFailed:
                    existing = dav.cards(target, [href])
                    if not existing:
                        continue
                    etag, text = existing[0].etag, existing[0].text
                card = SeenCard(target, href, etag, text, read_card(text))
                self._save_link(session, links, card, "Contact", record["Id"], record)

    # -- state helpers ---------------------------------------------------------------------------------------
    def _save_link(
        self,
        session: Session,
        links: dict[str, CardLink],
        card: SeenCard,
        sf_object: str,
        sf_id: str,
        record: dict[str, Any] | None,
    ) -> None:
        """Create or update the link of ``card`` with what both sides now hold."""
        for other in session.scalars(
            select(CardLink).where(CardLink.sf_id == sf_id, CardLink.uid != card.uid)
        ):
            if other.deleted:  # a tombstone of this record gives way to the new share
                session.delete(other)
                links.pop(other.uid, None)
        session.flush()
        link = session.scalar(select(CardLink).where(CardLink.uid == card.uid))
        if link is None:
            link = CardLink(uid=card.uid)
            session.add(link)
        link.address_book = card.book.url
        link.href = card.href
        link.etag = card.etag
        link.sf_object = sf_object
        link.sf_id = sf_id
        link.deleted = False
        link.card_hash = values_hash(carried(card.parsed.values, sf_object))
        if record is not None:
            link.sf_hash = values_hash(sf_values(record, sf_object))
            link.sf_modstamp = record.get("SystemModstamp")
            self._modstamps.append(record["SystemModstamp"])
        session.flush()
        links[card.uid] = link

    def _refresh_link(self, session: Session, link: CardLink, card: SeenCard) -> None:
        """The card moved or was re-saved without a change the hub syncs: remember where and which version."""
        stored = session.get(CardLink, link.id)
        if stored is not None:
            stored.href, stored.etag, stored.address_book = card.href, card.etag, card.book.url

    def _end_link(self, session: Session, link: CardLink) -> None:
        stored = session.get(CardLink, link.id)
        if stored is not None:
            stored.deleted = True
        link.deleted = True

    def _delete_card(self, dav: CardDavClient, link: CardLink, report: FlowReport) -> None:
        try:
            dav.delete_card(link.href, link.etag)
            report.add("cards_deleted")
        except PreconditionFailed:
            report.add("card_changed_meanwhile")  # edited since: the person keeps it, unlinked

    def _read(self, sf_object: str, ids: Sequence[str]) -> list[dict[str, Any]]:
        found = []
        for chunk in chunks(list(ids)):
            found.extend(
                self.client.query_all(
                    f"SELECT {select_fields(sf_object)} FROM {sf_object} WHERE Id IN {quote_list(chunk)}"
                )
            )
        return found

    def _by_email(self, sf_object: str, emails: Sequence[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        extra = " AND IsConverted = false" if sf_object == "Lead" else ""
        for chunk in chunks(list(emails)):
            for record in self.client.query_all(
                f"SELECT Id, Email FROM {sf_object} WHERE Email IN {quote_list(chunk)}{extra} "
                "ORDER BY LastModifiedDate DESC"
            ):
                found.setdefault(str(record["Email"]).lower(), record)
        return found

    def _accounts(self, names: Iterable[str]) -> dict[str, str]:
        """Account Ids by lower-cased name (the oldest Account when several share a name)."""
        found: dict[str, str] = {}
        for chunk in chunks(sorted(set(names))):
            for record in self.client.query_all(
                f"SELECT Id, Name FROM Account WHERE Name IN {quote_list(chunk)} ORDER BY CreatedDate"
            ):
                found.setdefault(str(record["Name"]).lower(), record["Id"])
        return found

    def _watermark(self) -> datetime | None:
        with self.runtime.session() as session:
            value = repo.get_watermark(session, FLOW, WATERMARK)
        return parse_datetime(value) if value else None

    def _move_watermark(self, started: datetime) -> None:
        """The newest SystemModstamp read (or the run's start, when nothing was read), never backwards."""
        newest = max((parse_datetime(stamp) for stamp in self._modstamps), default=started - self.overlap)
        current = self._watermark()
        if current is not None and current >= newest:
            return
        with self.runtime.session() as session:
            repo.set_watermark(session, FLOW, WATERMARK, newest.isoformat())

    def _seen_cards(self) -> dict[str, str | None]:
        with self.runtime.session() as session:
            value = repo.get_watermark(session, FLOW, SEEN_CARDS)
        return json.loads(value) if value else {}

    def _save_seen_cards(self, seen: dict[str, str | None]) -> None:
        """Unshared cards by href and ETag, so that the next run downloads only those that changed."""
        with self.runtime.session() as session:
            repo.set_watermark(session, FLOW, SEEN_CARDS, json.dumps(seen, sort_keys=True))

    def _problem(
        self,
        report: FlowReport,
        key: str,
        code: str,
        message: str,
        direction: str,
        sf_id: str | None = None,
        where: str = "",
        session: Session | None = None,
    ) -> None:
        report.problems.append(Problem(key, code, message, where or key))
        log.warning("contacts: %s: %s: %s", key, code, message)
        if session is not None:
            repo.record_error(session, report.run_id, FLOW, direction, "update", key, sf_id, code, message)
            return
        with self.runtime.session() as own:
            repo.record_error(own, report.run_id, FLOW, direction, "update", key, sf_id, code, message)

    def _refused(self, report: FlowReport, key: str, result: WriteResult, what: str, where: str) -> None:
        error = (result.errors or [SalesforceError("UNKNOWN_EXCEPTION", "no result")])[0]
        self._problem(
            report, key, error.error_code, f"{what}: {error.message}", "to_salesforce", result.id, where
        )
