"""Reading one e-mail for the mail flow (pure: bytes in, values out): its key, addresses, subject, date, text.

The standard library's ``email`` package with the modern ``policy.default`` does the MIME work (encoded words,
charsets, multipart). What is decided here: what identifies a message (its Message-ID, else a digest of its
headers), which addresses take part, the plain text of the body (HTML reduced to text when there is no plain
part), and how all that reads in a Salesforce Task.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.headerregistry import Address as HeaderAddress
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser

#: Salesforce's limits on the Task fields we fill.
SUBJECT_MAX = 255
DESCRIPTION_MAX = 32000
#: Longest key kept as is; longer Message-IDs are stored as a digest (the column is 255 characters).
KEY_MAX = 255


class MalformedMessage(ValueError):
    """A message the flow cannot save (no sender address, unreadable headers); the text says what is wrong."""


@dataclass(frozen=True)
class Address:
    name: str
    email: str  # lower case: Salesforce compares e-mail addresses case-insensitively too

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email


@dataclass
class MailHeaders:
    """What the flow needs from a message's headers to decide whether and where to save it."""

    key: str
    message_id: str | None
    sender: Address
    to: list[Address] = field(default_factory=list)
    cc: list[Address] = field(default_factory=list)
    subject: str = ""
    date: datetime | None = None

    def participants(self) -> list[Address]:
        """Sender, then To, then Cc, each address once."""
        seen: set[str] = set()
        found = []
        for address in [self.sender, *self.to, *self.cc]:
            if address.email not in seen:
                seen.add(address.email)
                found.append(address)
        return found


def read_headers(header_bytes: bytes) -> MailHeaders:
    """The key and addresses of a message from its header fields; MalformedMessage when it has no sender."""
    try:
        message = message_from_bytes(header_bytes, policy=policy.default)
        message_id = _message_id(message)
        senders = _addresses(message, "From")
        to = _addresses(message, "To")
        cc = _addresses(message, "Cc")
        subject = _header_text(message, "Subject")
        date = _date(message)
    except (TypeError, ValueError, LookupError, IndexError) as error:
        raise MalformedMessage(f"unreadable headers: {error}") from None
    if not senders:
        raise MalformedMessage("no sender address in the From header")
    return MailHeaders(
        key=message_key(message_id, header_bytes),
        message_id=message_id,
        sender=senders[0],
        to=to,
        cc=cc,
        subject=subject,
        date=date,
    )


def key_of(header_bytes: bytes) -> str:
    """The key of a message whose headers may be unreadable (to report it by its Message-ID when it has
    one)."""
    try:
        message_id = _message_id(message_from_bytes(header_bytes, policy=policy.default))
    except (TypeError, ValueError, LookupError, IndexError):
        message_id = None
    return message_key(message_id, header_bytes)


def message_key(message_id: str | None, header_bytes: bytes) -> str:
    """What identifies a message across folders and runs: its Message-ID, or a digest of its header fields
    when it has none (a moved or re-tagged copy keeps both)."""
    if message_id and len(message_id) <= KEY_MAX:
        return message_id
    source = (
        message_id.encode()
        if message_id
        else b"\n".join(line.strip() for line in header_bytes.splitlines() if line.strip())
    )
    return "sha256:" + hashlib.sha256(source).hexdigest()


def body_text(raw: bytes) -> str:
    """The readable text of a message: its first plain-text part, else its HTML part reduced to text."""
    message = message_from_bytes(raw, policy=policy.default)
    if not isinstance(message, EmailMessage):  # pragma: no cover - policy.default always builds EmailMessage
        return ""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    text = _part_text(part)
    if part.get_content_subtype() == "html":
        text = html_to_text(text)
    return text.replace("\r\n", "\n").strip()


def html_to_text(markup: str) -> str:
    """Visible text of an HTML body (scripts and styles dropped, block elements as line breaks)."""
    parser = _TextOfHtml()
    parser.feed(markup)
    parser.close()
    text = "".join(parser.chunks)
    text = re.sub(r"[ \t\xa0]+", " ", text)
    return re.sub(r"\n\s*\n\s*(\n\s*)+", "\n\n", text).strip()


def task_subject(headers: MailHeaders) -> str:
    """``Email: <subject>``, as Salesforce's own e-mail logging names such Tasks."""
    return _cut(f"Email: {headers.subject or '(no subject)'}", SUBJECT_MAX)


def task_description(headers: MailHeaders, body: str) -> str:
    """The message as a person reads it in the Task: the header block, a blank line and the body text."""
    lines = [f"From: {headers.sender}"]
    if headers.to:
        lines.append("To: " + ", ".join(str(address) for address in headers.to))
    if headers.cc:
        lines.append("Cc: " + ", ".join(str(address) for address in headers.cc))
    if headers.date:
        lines.append("Date: " + headers.date.strftime("%a, %d %b %Y %H:%M:%S %z"))
    lines.append(f"Subject: {headers.subject}")
    if headers.message_id:
        lines.append(f"Message-ID: {headers.message_id}")
    return _cut("\n".join(lines) + "\n\n" + body, DESCRIPTION_MAX)


def activity_date(headers: MailHeaders, fallback: datetime | None) -> str:
    """The Task's date: the day the message was written, in its writer's time zone."""
    when = headers.date or fallback or datetime.now(UTC)
    return when.date().isoformat()


# -- internals ----------------------------------------------------------------------------------------------
def _message_id(message: EmailMessage) -> str | None:
    value = message.get("Message-ID")
    if value is None:
        return None
    text = str(value).strip()
    match = re.search(r"<[^<>\s]+>", text)
    return match.group(0) if match else (text or None)


def _addresses(message: EmailMessage, name: str) -> list[Address]:
    found = []
    for header in message.get_all(name) or []:
        addresses = getattr(header, "addresses", None)
        if addresses is not None:
            pairs = [
                (address.display_name, address.addr_spec)
                for address in addresses
                if isinstance(address, HeaderAddress)
            ]
        else:
            pairs = getaddresses([str(header)])
        for display_name, addr_spec in pairs:
            email = (addr_spec or "").strip().lower()
            if "@" in email and " " not in email:
                found.append(Address(str(display_name or "").strip(), email))
    return found


def _header_text(message: EmailMessage, name: str) -> str:
    value = message.get(name)
    return re.sub(r"\s+", " ", str(value)).strip() if value is not None else ""


def _date(message: EmailMessage) -> datetime | None:
    value = message.get("Date")
    if value is None:
        return None
    when = getattr(value, "datetime", None)
    if when is None:
        try:
            when = parsedate_to_datetime(str(value))
        except (TypeError, ValueError):
            return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _part_text(part: EmailMessage) -> str:
    try:
        content = part.get_content()
    except (LookupError, UnicodeError, AssertionError):
        payload = part.get_payload(decode=True)
        content = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else str(payload or "")
    return content if isinstance(content, str) else content.decode("utf-8", "replace")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _TextOfHtml(HTMLParser):
    _BLOCKS = frozenset(
        {
            "p",
            "div",
            "br",
            "li",
            "tr",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "blockquote",
            "pre",
            "table",
            "ul",
            "ol",
            "hr",
        }
    )
    _HIDDEN = frozenset({"script", "style", "head", "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self._hidden += 1
        elif tag in self._BLOCKS:
            self.chunks.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in self._BLOCKS:
            self.chunks.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.chunks.append(html.unescape(data) if "&" in data else data)
