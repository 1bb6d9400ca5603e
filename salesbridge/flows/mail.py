"""The mail flow: messages a person shares from their mail client become completed Tasks in Salesforce.

A message is shared by moving (or copying) it to the folder ``mail.folder`` ("Salesforce Emails") or by
tagging it with the IMAP keyword ``mail.keyword`` ("Salesforce", a tag or category in the mail client). Each
run:

1. reads the header fields of the shared messages (never their bodies yet) and keys them by Message-ID;
2. drops the messages already saved (``sb_mail_messages``), and reconciles the ones a crash left ``pending``;
3. matches every participating address in one query per object (Contacts first, then unconverted Leads), the
   sender before the recipients, the mailbox owner's own addresses never;
4. handles the unmatched as configured: ``skip`` (tried again next run), ``lead`` (a Lead for the sender, one
   per address) or ``error`` (a record error naming the addresses);
5. downloads the bodies of the messages to save, records them as ``pending`` (committed), creates the Tasks
   through sObject Collections (200 a call), and marks them ``saved`` with the Task Ids.

Exactly once: a message is saved at most once per Message-ID, across folders, tags and restarts. A crash after
the Tasks were created but before they were marked leaves ``pending`` rows; the next run looks for their
Tasks (same Who, subject and Message-ID line, created since) and marks them rather than creating them again.
With ``mail.message_id_field`` (an external-id field on Task) Tasks are upserted by Message-ID instead, which
is idempotent by itself. A malformed message is reported (record error ``MALFORMED_MESSAGE``) and skipped; the
others go on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from salesbridge.connectors.imap import ImapError, ImapMailbox, ImapSettings, MessageHeaders
from salesbridge.flows._mail_message import (
    Address,
    MailHeaders,
    MalformedMessage,
    activity_date,
    body_text,
    key_of,
    read_headers,
    task_description,
    task_subject,
)
from salesbridge.flows._runtime import FlowReport, Problem, Runtime, chunks
from salesbridge.salesforce import SalesforceClient, SalesforceError, WriteResult, soql_quote
from salesbridge.salesforce.soql import quote_list
from salesbridge.store import repository as repo
from salesbridge.store.mail_models import MailMessage, MessageStatus
from salesbridge.store.models import utcnow
from salesbridge.sync.config import HubConfig, MailConfig

log = logging.getLogger(__name__)

FLOW = "mail"
#: Company of a Lead made for an unknown sender when the address has no usable domain.
UNKNOWN_COMPANY = "[not provided]"


class MailSyncError(Exception):
    """The run cannot start or go on (no mail configuration, IMAP unreachable, unknown Task owner)."""


@dataclass(frozen=True)
class Who:
    """The Contact or Lead an address belongs to."""

    id: str
    sf_object: str
    email: str
    account_id: str | None = None


@dataclass
class Candidate:
    """A shared message: where it is and what its headers say."""

    ref: MessageHeaders
    headers: MailHeaders
    who: Who | None = None
    body: str = ""


def imap_settings(mail: MailConfig) -> ImapSettings:
    imap = mail.imap
    return ImapSettings(
        host=imap.host,
        port=imap.effective_port,
        username=imap.username,
        password=imap.password.get_secret_value(),
        ssl=imap.ssl,
        verify=imap.verify,
    )


def sync_mail(
    config: HubConfig,
    *,
    client: SalesforceClient | None = None,
    engine: Engine | None = None,
    trigger: str = "manual",
) -> FlowReport:
    """Run the mail flow once (the CLI, the scheduler and the API call this)."""
    if config.mail is None:
        raise MailSyncError("no 'mail' section in the configuration")
    return MailSync(Runtime.for_config(config, client, engine), config.mail).run(trigger)


class MailSync:
    """One configured mail flow; ``run`` is a plain function of the mailbox, Salesforce and the stored
    state."""

    def __init__(
        self,
        runtime: Runtime,
        mail: MailConfig,
        mailbox_factory: Callable[[ImapSettings], ImapMailbox] = ImapMailbox,
    ) -> None:
        self.runtime = runtime
        self.client = runtime.client
        self.mail = mail
        self.mailbox_factory = mailbox_factory
        own = mail.own_addresses or ([mail.imap.username] if "@" in mail.imap.username else [])
        self.own_addresses = {address.strip().lower() for address in own}

    def run(self, trigger: str = "manual") -> FlowReport:
        report = FlowReport(FLOW)
        self.runtime.start(report, trigger)
        candidates: list[Candidate] = []
        try:
            owner_id = self._owner_id()
            with self.mailbox_factory(imap_settings(self.mail)) as mailbox:
                candidates = self._shared_messages(mailbox, report)
                self._reconcile_pending(report)
                fresh = self._not_yet_saved(candidates, report)
                self._match(fresh)
                fresh = self._handle_unmatched(fresh, report)
                self._download_bodies(mailbox, fresh, report)
            self._save(fresh, owner_id, report)
        except (ImapError, MailSyncError, SalesforceError) as error:
            log.warning("mail flow stopped: %s", error)
            report.error = f"{type(error).__name__}: {error}"
        self.runtime.finish(
            report, written=report.count("saved") + report.count("leads_created"), read=len(candidates)
        )
        return report

    # -- 1. what is shared -----------------------------------------------------------------------------------
    def _shared_messages(self, mailbox: ImapMailbox, report: FlowReport) -> list[Candidate]:
        """Messages in the Salesforce folder and messages tagged with the keyword anywhere, each key once."""
        mailbox.ensure_folder(self.mail.folder)
        folders = self.mail.search_folders or mailbox.folders()
        refs: list[MessageHeaders] = list(mailbox.headers(self.mail.folder, mailbox.search(self.mail.folder)))
        for folder in folders:
            if folder == self.mail.folder:
                continue
            uids = mailbox.search(folder, keyword=self.mail.keyword)
            if uids:
                refs.extend(mailbox.headers(folder, uids))
        found: dict[str, Candidate] = {}
        for ref in refs:
            try:
                headers = read_headers(ref.header_bytes)
            except MalformedMessage as error:
                key = key_of(ref.header_bytes)
                self._problem(report, key, "MALFORMED_MESSAGE", str(error), ref)
                continue
            found.setdefault(headers.key, Candidate(ref, headers))
        report.add("shared", len(found))
        return list(found.values())

    # -- 2. what was saved before ----------------------------------------------------------------------------
    def _not_yet_saved(self, candidates: list[Candidate], report: FlowReport) -> list[Candidate]:
        keys = [candidate.headers.key for candidate in candidates]
        known: set[str] = set()
        with self.runtime.session() as session:
            for chunk in chunks(keys):
                known.update(
                    session.scalars(select(MailMessage.message_key).where(MailMessage.message_key.in_(chunk)))
                )
        report.add("already_saved", len(known))
        return [candidate for candidate in candidates if candidate.headers.key not in known]

    def _reconcile_pending(self, report: FlowReport) -> None:
        """Rows a crash left between "about to create the Task" and "created": find their Tasks or forget
        them.

        With a Message-ID field, forgetting the row is enough: the save looks the Task up by that field.
        Otherwise the Task is looked for among the Email Tasks on the same Who created since the row was
        written, by subject and Message-ID line.
        """
        with self.runtime.session() as session:
            pending = list(
                session.scalars(select(MailMessage).where(MailMessage.status == MessageStatus.PENDING.value))
            )
        if not pending:
            return
        found: dict[str, str] = {}
        if not self.mail.message_id_field:
            found = self._find_created_tasks(pending)
        with self.runtime.session() as session:
            for row in pending:
                task_id = found.get(row.message_key)
                stored = session.get(MailMessage, row.id)
                if task_id and stored is not None:
                    stored.status = MessageStatus.SAVED.value
                    stored.task_id = task_id
                    report.add("recovered")
                else:
                    session.execute(delete(MailMessage).where(MailMessage.id == row.id))

    def _find_created_tasks(self, pending: list[MailMessage]) -> dict[str, str]:
        since = min(row.created_at for row in pending) - timedelta(minutes=5)
        who_ids = sorted({row.who_id for row in pending if row.who_id})
        tasks = []
        for chunk in chunks(who_ids):
            tasks.extend(
                self.client.query_all(
                    f"SELECT Id, WhoId, Subject, Description FROM Task WHERE TaskSubtype = 'Email' "
                    f"AND CreatedDate >= {soql_quote(since)} AND WhoId IN {quote_list(chunk)}"
                )
            )
        found: dict[str, str] = {}
        for row in pending:
            for task in tasks:
                if task["WhoId"] != row.who_id or task.get("Subject") != row.subject:
                    continue
                if row.message_id and f"Message-ID: {row.message_id}" not in (task.get("Description") or ""):
                    continue
                found[row.message_key] = task["Id"]
                break
        return found

    # -- 3. who it is about ----------------------------------------------------------------------------------
    def _match(self, candidates: list[Candidate]) -> None:
        """One query per object for every address of every message (not one per message)."""
        addresses = sorted({address.email for candidate in candidates for address in self._others(candidate)})
        matches = self.find_people(addresses)
        for candidate in candidates:
            for address in self._others(candidate):
                if address.email in matches:
                    candidate.who = matches[address.email]
                    break

    def find_people(self, addresses: Sequence[str]) -> dict[str, Who]:
        """The Contact (else the unconverted Lead) of each address; the most recently changed one wins."""
        matches: dict[str, Who] = {}
        for chunk in chunks(list(addresses)):
            for record in self.client.query_all(
                f"SELECT Id, Email, AccountId FROM Contact WHERE Email IN {quote_list(chunk)} "
                "ORDER BY LastModifiedDate DESC"
            ):
                email = str(record.get("Email") or "").lower()
                matches.setdefault(email, Who(record["Id"], "Contact", email, record.get("AccountId")))
        rest = [address for address in addresses if address not in matches]
        for chunk in chunks(rest):
            for record in self.client.query_all(
                f"SELECT Id, Email FROM Lead WHERE IsConverted = false AND Email IN {quote_list(chunk)} "
                "ORDER BY LastModifiedDate DESC"
            ):
                email = str(record.get("Email") or "").lower()
                matches.setdefault(email, Who(record["Id"], "Lead", email))
        return matches

    def _others(self, candidate: Candidate) -> list[Address]:
        """The message's participants other than the mailbox owner."""
        return [
            address for address in candidate.headers.participants() if address.email not in self.own_addresses
        ]

    # -- 4. nobody matched -----------------------------------------------------------------------------------
    def _handle_unmatched(self, candidates: list[Candidate], report: FlowReport) -> list[Candidate]:
        unmatched = [candidate for candidate in candidates if candidate.who is None]
        report.add("unmatched", len(unmatched))
        if self.mail.unmatched == "error":
            for candidate in unmatched:
                addresses = ", ".join(address.email for address in self._others(candidate)) or "none"
                self._problem(
                    report,
                    candidate.headers.key,
                    "NO_MATCHING_RECORD",
                    f"no Contact or Lead has any of the addresses {addresses}",
                    candidate.ref,
                )
        elif self.mail.unmatched == "lead":
            self._create_leads(unmatched, report)
        return [candidate for candidate in candidates if candidate.who is not None]

    def _create_leads(self, unmatched: list[Candidate], report: FlowReport) -> None:
        """One Lead per unknown address (the sender's, or the first recipient's for mail the owner sent)."""
        wanted: dict[str, tuple[Address, list[Candidate]]] = {}
        for candidate in unmatched:
            others = self._others(candidate)
            if not others:
                self._problem(
                    report,
                    candidate.headers.key,
                    "NO_MATCHING_RECORD",
                    "the message has no address other than the mailbox owner's",
                    candidate.ref,
                )
                continue
            wanted.setdefault(others[0].email, (others[0], []))[1].append(candidate)
        if not wanted:
            return
        people = [address for address, _ in wanted.values()]
        results = self.client.create("Lead", [self._lead_fields(address) for address in people])
        for address, result in zip(people, results, strict=True):
            waiting = wanted[address.email][1]
            if result.success and result.id:
                report.add("leads_created")
                for candidate in waiting:
                    candidate.who = Who(result.id, "Lead", address.email)
            else:
                for candidate in waiting:
                    self._refused(report, candidate, result, "Lead for " + address.email)

    def _lead_fields(self, address: Address) -> dict[str, object]:
        name = address.name.strip().strip('"') or address.email.split("@", 1)[0]
        first, _, last = name.rpartition(" ")
        domain = address.email.rpartition("@")[2]
        fields: dict[str, object] = {
            "LastName": last[:80] or name[:80],
            "Email": address.email,
            "Company": domain[:255] or UNKNOWN_COMPANY,
        }
        if first:
            fields["FirstName"] = first[:40]
        if self.mail.lead_source:
            fields["LeadSource"] = self.mail.lead_source
        return fields

    # -- 5. save ---------------------------------------------------------------------------------------------
    def _download_bodies(self, mailbox: ImapMailbox, candidates: list[Candidate], report: FlowReport) -> None:
        by_folder: dict[str, list[Candidate]] = {}
        for candidate in candidates:
            by_folder.setdefault(candidate.ref.folder, []).append(candidate)
        for folder, group in by_folder.items():
            by_uid = {candidate.ref.uid: candidate for candidate in group}
            for message in mailbox.messages(folder, sorted(by_uid)):
                candidate = by_uid[message.uid]
                try:
                    candidate.body = body_text(message.raw)
                except (ValueError, LookupError, TypeError, AttributeError) as error:
                    candidate.who = None
                    self._problem(
                        report,
                        candidate.headers.key,
                        "MALFORMED_MESSAGE",
                        f"unreadable body: {error}",
                        candidate.ref,
                    )

    def _save(self, candidates: list[Candidate], owner_id: str | None, report: FlowReport) -> None:
        ready = [candidate for candidate in candidates if candidate.who is not None]
        if self.mail.message_id_field:
            ready = self._skip_tasks_in_salesforce(ready, report)
        if not ready:
            return
        payloads = [self._task_fields(candidate, owner_id) for candidate in ready]
        with self.runtime.session() as session:  # intent first: a crash after the create is then recoverable
            for candidate, payload in zip(ready, payloads, strict=True):
                session.add(
                    MailMessage(
                        message_key=candidate.headers.key,
                        message_id=candidate.headers.message_id,
                        status=MessageStatus.PENDING.value,
                        who_id=candidate.who.id,  # type: ignore[union-attr]
                        subject=payload["Subject"],
                        folder=candidate.ref.folder,
                    )
                )
        if self.mail.message_id_field:
            results = self.client.upsert("Task", self.mail.message_id_field, payloads)
        else:
            results = self.client.create("Task", payloads)
        with self.runtime.session() as session:
            for candidate, payload, result in zip(ready, payloads, results, strict=True):
                row = session.scalar(
                    select(MailMessage).where(MailMessage.message_key == candidate.headers.key)
                )
                if result.success and result.id and row is not None:
                    row.status = MessageStatus.SAVED.value
                    row.task_id = result.id
                    row.updated_at = utcnow()
                    repo.resolve_errors(session, FLOW, app_key=candidate.headers.key)
                    report.add("saved")
                else:
                    if row is not None:
                        session.delete(row)
                    self._refused(report, candidate, result, "Task", payload, session)

    def _skip_tasks_in_salesforce(self, ready: list[Candidate], report: FlowReport) -> list[Candidate]:
        """With a Message-ID field, Tasks already in Salesforce (saved before the hub's state was lost, or by
        a run that crashed) are recorded rather than written again: one query for all of them. (An upsert
        would find them too, but would then try to update TaskSubtype, which Salesforce allows on create
        only.)"""
        field = self.mail.message_id_field
        existing: dict[str, str] = {}
        keys = [candidate.headers.key for candidate in ready]
        for chunk in chunks(keys):
            for task in self.client.query_all(
                f"SELECT Id, {field} FROM Task WHERE {field} IN {quote_list(chunk)}"
            ):
                existing[str(task[field])] = task["Id"]
        if not existing:
            return ready
        with self.runtime.session() as session:
            for candidate in ready:
                task_id = existing.get(candidate.headers.key)
                if task_id:
                    session.add(
                        MailMessage(
                            message_key=candidate.headers.key,
                            message_id=candidate.headers.message_id,
                            status=MessageStatus.SAVED.value,
                            task_id=task_id,
                            who_id=candidate.who.id if candidate.who else None,
                            subject=task_subject(candidate.headers),
                            folder=candidate.ref.folder,
                        )
                    )
                    report.add("recovered")
        return [candidate for candidate in ready if candidate.headers.key not in existing]

    def _task_fields(self, candidate: Candidate, owner_id: str | None) -> dict[str, object]:
        headers, who = candidate.headers, candidate.who
        assert who is not None
        fields: dict[str, object] = {
            "Subject": task_subject(headers),
            "ActivityDate": activity_date(headers, candidate.ref.internal_date),
            "Status": "Completed",
            "Priority": "Normal",
            "TaskSubtype": "Email",
            "WhoId": who.id,
            "Description": task_description(headers, candidate.body),
        }
        if who.account_id:
            fields["WhatId"] = who.account_id
        if owner_id:
            fields["OwnerId"] = owner_id
        if self.mail.message_id_field:
            fields[self.mail.message_id_field] = headers.key
        return fields

    def _owner_id(self) -> str | None:
        if not self.mail.owner:
            return None
        user = self.client.find_user(self.mail.owner)
        if user is None:
            raise MailSyncError(f"mail.owner: no active Salesforce user '{self.mail.owner}'")
        return str(user["Id"])

    # -- reporting -------------------------------------------------------------------------------------------
    def _problem(
        self,
        report: FlowReport,
        key: str,
        code: str,
        message: str,
        ref: MessageHeaders,
        payload: object = None,
        session: Session | None = None,
    ) -> None:
        where = f"{ref.folder} #{ref.uid}"
        report.problems.append(Problem(key, code, message, where))
        log.warning("mail: %s (%s): %s: %s", key, where, code, message)

        def store(into: Session) -> None:
            repo.record_error(
                into,
                report.run_id,
                FLOW,
                "to_salesforce",
                "create",
                key,
                None,
                code,
                message,
                payload=payload if payload is not None else {"folder": ref.folder, "uid": ref.uid},
            )

        if session is not None:
            store(session)
        else:
            with self.runtime.session() as own:
                store(own)

    def _refused(
        self,
        report: FlowReport,
        candidate: Candidate,
        result: WriteResult,
        what: str,
        payload: object = None,
        session: Session | None = None,
    ) -> None:
        errors = result.errors or [SalesforceError("UNKNOWN_EXCEPTION", "no result")]
        first = errors[0]
        self._problem(
            report,
            candidate.headers.key,
            first.error_code,
            f"{what}: {first.message}",
            candidate.ref,
            payload,
            session,
        )


def saved_messages(runtime: Runtime, keys: Iterable[str] | None = None) -> list[MailMessage]:
    """Rows of saved and pending messages (for status pages and tests), oldest first."""
    with runtime.session() as session:
        query = select(MailMessage).order_by(MailMessage.id)
        if keys is not None:
            query = query.where(MailMessage.message_key.in_(list(keys)))
        return list(session.scalars(query))
