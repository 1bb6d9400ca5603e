"""``salesbridge check`` for the mail and contacts flows: can the hub log in to the mailbox and the address
book server, and is there (or could there be) the folder and the address book the flows use?

A problem names the key path to edit (``mail.imap: cannot log in to imap.example.com:993 as me: ...``), as the
table flows' checks do. A missing folder or address book is not a problem when it can be made, since the flows
make them at their first run: the check makes it and removes it again, so that running it changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import closing
from dataclasses import replace

from salesbridge.connectors.carddav import CardDavClient, CardDavError
from salesbridge.connectors.imap import ImapError, ImapLoginRefused, ImapMailbox
from salesbridge.flows.mail import imap_settings
from salesbridge.salesforce import SalesforceClient, SalesforceError
from salesbridge.sync.config import ContactsConfig, HubConfig, MailConfig

Report = Callable[[str], None]
#: A person waits for ``salesbridge check``: fail within seconds, not the flows' minute.
CHECK_TIMEOUT_SECONDS = 20.0


def check_sources(config: HubConfig, report: Report, client: SalesforceClient | None) -> list[str]:
    """Problems of the ``mail`` and ``contacts`` sections (none when they are not configured). Without a
    logged-in ``client``, only the mailbox and the address book are checked."""
    problems: list[str] = []
    if config.mail is not None:
        problems.extend(check_mail(config.mail, report, client))
    if config.contacts is not None:
        problems.extend(check_contacts(config.contacts, report, client))
    return problems


# -- mail ------------------------------------------------------------------------------------------------------


def check_mail(mail: MailConfig, report: Report, client: SalesforceClient | None) -> list[str]:
    imap = mail.imap
    server = f"{imap.host}:{imap.effective_port}"
    mailbox = ImapMailbox(replace(imap_settings(mail), timeout=CHECK_TIMEOUT_SECONDS))
    try:
        mailbox.open()
    except ImapLoginRefused as error:
        return [f"mail.imap: cannot log in to {server} as {imap.username}: {error.reason}"]
    except ImapError as error:
        return [f"mail.imap: {error}"]
    problems: list[str] = []
    with closing(mailbox):
        report(f"mail.imap: logged in to {server} as {imap.username}")
        try:
            folders = mailbox.folders()
            problems.extend(_check_folder(mailbox, mail.folder, folders, report))
            for index, name in enumerate(mail.search_folders or []):
                if name not in folders:
                    problems.append(f"mail.search_folders[{index}]: the mailbox has no folder '{name}' "
                                    f"(folders: {', '.join(sorted(folders)) or 'none'})")
        except ImapError as error:
            problems.append(f"mail.imap: {error}")
    if client is not None:
        problems.extend(_check_mail_salesforce(mail, client))
    return problems


def _check_folder(mailbox: ImapMailbox, folder: str, folders: list[str], report: Report) -> list[str]:
    if folder in folders:
        report(f"mail.folder: '{folder}' exists")
        return []
    try:
        mailbox.ensure_folder(folder)
    except ImapError as error:
        return [f"mail.folder: the mailbox has no folder '{folder}' and it cannot be created: {error}"]
    try:
        mailbox.delete_folder(folder)
    except ImapError:
        report(f"mail.folder: '{folder}' did not exist; it was created (the first mail sync would have)")
        return []
    report(f"mail.folder: '{folder}' does not exist yet; it can be created, and the first mail sync "
           "creates it")
    return []


def _check_mail_salesforce(mail: MailConfig, client: SalesforceClient) -> list[str]:
    problems = []
    if mail.owner and client.find_user(mail.owner) is None:
        problems.append(f"mail.owner: no active Salesforce user with username or email '{mail.owner}'")
    field = mail.message_id_field
    if field:
        try:
            fields = {f["name"].lower(): f for f in client.describe("Task")["fields"]}
        except SalesforceError as error:
            return [*problems, f"mail.message_id_field: Task is not available: {error.message}"]
        described = fields.get(field.lower())
        if described is None:
            problems.append(f"mail.message_id_field: Task has no field '{field}'")
        elif not described.get("externalId"):
            problems.append(f"mail.message_id_field: Task.{described['name']} is not an external id "
                            "field")
    return problems


# -- contacts --------------------------------------------------------------------------------------------------


def check_contacts(contacts: ContactsConfig, report: Report, client: SalesforceClient | None) -> list[str]:
    dav = contacts.carddav
    password = dav.password.get_secret_value() if dav.password else None
    who = dav.username or "(no user name)"
    server = CardDavClient(dav.url, dav.username, password, verify=dav.verify, timeout=CHECK_TIMEOUT_SECONDS)
    with closing(server):
        try:
            books = server.address_books()
        except CardDavError as error:
            if error.status == 401:
                return [f"contacts.carddav: cannot log in to {dav.url} as {who}: the server answered 401 "
                        "(wrong user name or password)"]
            if error.status is None:
                return [f"contacts.carddav: cannot reach {dav.url}: {error}"]
            return [f"contacts.carddav: {dav.url} does not lead to an address book home: {error}"]
        report(f"contacts.carddav: logged in to {dav.url} as {who} ({len(books)} address book(s))")
        problems = _check_address_book(server, contacts.address_book, [book.name for book in books], report)
    if client is not None and contacts.salesforce_filter:
        try:
            client.query_all(f"SELECT Id FROM Contact WHERE ({contacts.salesforce_filter}) LIMIT 1")
        except SalesforceError as error:
            problems.append(f"contacts.salesforce_filter: {error.error_code}: {error.message}")
    return problems


def _check_address_book(server: CardDavClient, name: str, names: list[str], report: Report) -> list[str]:
    if name in names:
        report(f"contacts.address_book: '{name}' exists")
        return []
    found = ", ".join(f"'{other}'" for other in sorted(names)) or "none"
    try:
        made = server.create_address_book(name)
    except CardDavError as error:
        return [f"contacts.address_book: there is no address book named '{name}' (found: {found}) and it "
                f"cannot be created: {error}"]
    try:
        server.delete_address_book(made)
    except CardDavError:
        report(f"contacts.address_book: '{name}' did not exist; it was created (the first contacts sync "
               "would have)")
        return []
    report(f"contacts.address_book: there is no address book named '{name}' yet (found: {found}); it can be "
           "created, and the first contacts sync creates it")
    return []
