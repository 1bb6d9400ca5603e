"""Helpers for the mail tests: a mail client's moves (append, tag, move) and a hub config for the mail
flow."""

from __future__ import annotations

import imaplib
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from dovecot_server import DovecotServer, MailUser

from salesbridge.connectors.imap import quote_mailbox
from salesbridge.sandbox.server import RunningSandbox
from salesbridge.sync.config import HubConfig, parse_config

FOLDER = "Salesforce Emails"


def make_message(
    sender: str,
    to: str,
    subject: str,
    body: str = "Hello from the test.",
    *,
    message_id: str | None = None,
    cc: str | None = None,
    html: str | None = None,
    date: datetime | None = None,
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    if cc:
        message["Cc"] = cc
    message["Subject"] = subject
    message["Date"] = format_datetime(date or datetime(2026, 11, 20, 9, 30).astimezone())
    if message_id:
        message["Message-ID"] = message_id
    if html is not None:
        message.set_content(html, subtype="html")
    else:
        message.set_content(body)
    return bytes(message)


class MailClient:
    """What a person's mail client does to their mailbox, over IMAP."""

    def __init__(self, server: DovecotServer, user: MailUser) -> None:
        self.conn = imaplib.IMAP4("127.0.0.1", server.port)
        self.conn.login(user.username, user.password)

    def close(self) -> None:
        self.conn.logout()

    def create_folder(self, name: str) -> None:
        self.conn.create(quote_mailbox(name))

    def append(self, folder: str, raw: bytes, *, keywords: tuple[str, ...] = ()) -> None:
        flags = "(" + " ".join(keywords) + ")" if keywords else None
        status, data = self.conn.append(quote_mailbox(folder), flags, None, raw)
        assert status == "OK", data

    def uids(self, folder: str) -> list[int]:
        self.conn.select(quote_mailbox(folder))
        _, data = self.conn.uid("SEARCH", "ALL")
        return [int(uid) for uid in data[0].split()]

    def tag(self, folder: str, uid: int, keyword: str) -> None:
        self.conn.select(quote_mailbox(folder))
        status, data = self.conn.uid("STORE", str(uid), "+FLAGS", f"({keyword})")
        assert status == "OK", data

    def move(self, folder: str, uid: int, target: str) -> None:
        self.conn.select(quote_mailbox(folder))
        status, data = self.conn.uid("MOVE", str(uid), quote_mailbox(target))
        assert status == "OK", data

    def flags(self, folder: str, uid: int) -> str:
        self.conn.select(quote_mailbox(folder), readonly=True)
        _, data = self.conn.uid("FETCH", str(uid), "(FLAGS)")
        return data[0].decode()


def mail_config(
    org: RunningSandbox, app_url: str, server: DovecotServer, user: MailUser, **mail: Any
) -> HubConfig:
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
            "mail": {
                "imap": {
                    "host": "127.0.0.1",
                    "port": server.port,
                    "username": user.username,
                    "password": user.password,
                    "ssl": False,
                },
                **mail,
            },
        },
        "test.yaml",
    )
