"""An IMAP mailbox, read the way the mail flow needs it: folders, keyword searches, headers first, bodies
later.

Built on the standard library's ``imaplib`` (IMAP4rev1 as every server speaks it) rather than a third-party
client: the flow needs a handful of commands (LIST, CREATE, SELECT, UID SEARCH, UID FETCH) and imaplib does
them well; what it leaves to the caller (quoting, modified UTF-7 folder names, parsing FETCH answers) is here.

Messages are read with ``BODY.PEEK[...]`` and folders are selected read-only, so sharing a message with
Salesforce never marks it as read nor changes it in any way. Headers are fetched first (Message-ID and
addresses), so that messages already saved and messages nobody matches cost no body download.
"""

from __future__ import annotations

import base64
import contextlib
import imaplib
import re
import ssl
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType

#: Header fields the mail flow decides on before downloading a body.
HEADER_FIELDS = ("MESSAGE-ID", "FROM", "TO", "CC", "DATE", "SUBJECT")
#: UIDs per FETCH command (keeps command lines short on any server).
FETCH_CHUNK = 200

_LIST_LINE = re.compile(rb'^\((?P<flags>[^)]*)\) (?P<delimiter>"(?:[^"\\]|\\.)*"|NIL) (?P<name>.*)$', re.I)
_UID = re.compile(rb"\bUID (\d+)", re.I)
_FLAGS = re.compile(rb"\bFLAGS \(([^)]*)\)", re.I)
_INTERNALDATE = re.compile(rb'\bINTERNALDATE ("[^"]+")', re.I)


class ImapError(Exception):
    """The server refused a command or could not be reached; the message says which and why."""


class ImapLoginRefused(ImapError):
    """The server answered but refused the user name or password; ``reason`` is the server's own words (so
    that ``salesbridge check`` can say what it tried and what the server said)."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class ImapSettings:
    """Where and how to log in. ``ssl``: True (IMAPS), ``"starttls"`` or False (plain text)."""

    host: str
    port: int
    username: str
    password: str
    ssl: bool | str = True
    verify: bool | str = True
    timeout: float = 60.0

    def __repr__(self) -> str:  # never show the password
        return (f"ImapSettings(host={self.host!r}, port={self.port}, username={self.username!r}, "
                f"ssl={self.ssl!r})")


@dataclass
class MessageHeaders:
    """One message as first seen: where it is, its flags and the raw header fields of ``HEADER_FIELDS``."""

    folder: str
    uid: int
    flags: frozenset[str]
    header_bytes: bytes
    internal_date: datetime | None = None


@dataclass
class FetchedMessage:
    folder: str
    uid: int
    raw: bytes
    internal_date: datetime | None = None
    flags: frozenset[str] = field(default_factory=frozenset)


def ssl_context(verify: bool | str) -> ssl.SSLContext:
    """A client TLS context: the system's CAs, a CA bundle file, or no verification (``False``)."""
    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=verify if isinstance(verify, str) else None)


class ImapMailbox:
    """A logged-in IMAP connection (use as a context manager); every method raises ImapError on refusal."""

    def __init__(self, settings: ImapSettings) -> None:
        self.settings = settings
        self._conn: imaplib.IMAP4 | None = None
        self._selected: str | None = None

    # -- connection ---------------------------------------------------------------------------------------
    def __enter__(self) -> ImapMailbox:
        self.open()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def open(self) -> None:
        settings = self.settings
        try:
            if settings.ssl is True:
                conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                    settings.host,
                    settings.port,
                    ssl_context=ssl_context(settings.verify),
                    timeout=settings.timeout,
                )
            else:
                conn = imaplib.IMAP4(settings.host, settings.port, timeout=settings.timeout)
                if settings.ssl == "starttls":
                    conn.starttls(ssl_context(settings.verify))
        except (OSError, imaplib.IMAP4.error) as error:
            raise ImapError(
                f"cannot connect to IMAP server {settings.host}:{settings.port}: {error}"
            ) from None
        try:
            conn.login(settings.username, settings.password)
        except imaplib.IMAP4.error as error:
            conn.shutdown()
            reason = _text(error)
            raise ImapLoginRefused(
                f"IMAP login refused for {settings.username!r} at {settings.host}: {reason}", reason
            ) from None
        self._conn = conn

    def close(self) -> None:
        if self._conn is None:
            return
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            self._conn.logout()
        self._conn = None
        self._selected = None

    @property
    def conn(self) -> imaplib.IMAP4:
        if self._conn is None:
            raise ImapError("the mailbox is not open")
        return self._conn

    # -- folders ------------------------------------------------------------------------------------------
    def folders(self) -> list[str]:
        """Every selectable folder, by its (decoded) name."""
        data = self._ok(self.conn.list(), "LIST")
        names = []
        for flags, name in _parse_list(data):
            if not {"\\noselect", "\\nonexistent"} & {flag.lower() for flag in flags}:
                names.append(name)
        return names

    def ensure_folder(self, name: str) -> bool:
        """Create ``name`` unless it exists (so that users find the folder to drop messages into); True if
        made."""
        if name in self.folders():
            return False
        self._ok(self.conn.create(quote_mailbox(name)), f"CREATE {name}")
        self.conn.subscribe(quote_mailbox(name))
        return True

    def delete_folder(self, name: str) -> None:
        """Remove a folder (``salesbridge check`` removes the one it made to see that it could)."""
        with contextlib.suppress(imaplib.IMAP4.error):
            self.conn.unsubscribe(quote_mailbox(name))
        self._ok(self.conn.delete(quote_mailbox(name)), f"DELETE {name}")

    def select(self, folder: str, *, readonly: bool = True) -> int:
        """Select ``folder``; answers its message count."""
        data = self._ok(self.conn.select(quote_mailbox(folder), readonly=readonly), f"SELECT {folder}")
        self._selected = folder
        try:
            return int(data[0] or 0)
        except (TypeError, ValueError):
            return 0

    # -- messages -----------------------------------------------------------------------------------------
    def search(self, folder: str, *, keyword: str | None = None) -> list[int]:
        """UIDs of every message in ``folder``, or of those carrying ``keyword`` (an IMAP keyword, i.e. a
        tag).

        Keywords compare exactly on most servers, while mail clients differ in how they spell a tag
        (Thunderbird stores its tags in lower case): the keyword is looked for as given and in lower case."""
        self.select(folder)
        criteria: tuple[str, ...] = ("ALL",)
        if keyword:
            criteria = ("KEYWORD", keyword)
            if keyword.lower() != keyword:
                criteria = ("OR", "KEYWORD", keyword, "KEYWORD", keyword.lower())
        data = self._ok(self.conn.uid("SEARCH", *criteria), f"SEARCH {folder}")
        return sorted(int(uid) for uid in b" ".join(item for item in data if item).split())

    def headers(self, folder: str, uids: Sequence[int]) -> list[MessageHeaders]:
        """Flags, arrival time and the ``HEADER_FIELDS`` of each message, without downloading bodies."""
        self.select(folder)
        part = f"BODY.PEEK[HEADER.FIELDS ({' '.join(HEADER_FIELDS)})]"
        found = []
        for meta, literal in self._fetch(uids, f"(UID FLAGS INTERNALDATE {part})"):
            uid, flags, arrived = _fetch_meta(meta)
            if uid is not None:
                found.append(MessageHeaders(folder, uid, flags, literal, arrived))
        return found

    def messages(self, folder: str, uids: Sequence[int]) -> list[FetchedMessage]:
        """Whole messages (RFC 822 bytes), read without setting ``\\Seen``."""
        self.select(folder)
        found = []
        for meta, literal in self._fetch(uids, "(UID FLAGS INTERNALDATE BODY.PEEK[])"):
            uid, flags, arrived = _fetch_meta(meta)
            if uid is not None:
                found.append(FetchedMessage(folder, uid, literal, arrived, flags))
        return found

    def _fetch(self, uids: Sequence[int], items: str) -> Iterator[tuple[bytes, bytes]]:
        for start in range(0, len(uids), FETCH_CHUNK):
            chunk = uids[start : start + FETCH_CHUNK]
            data = self._ok(self.conn.uid("FETCH", _uid_set(chunk), items), f"FETCH in {self._selected}")
            yield from _fetch_items(data)

    @staticmethod
    def _ok(answer: tuple[str, list[object]], what: str) -> list[object]:
        status, data = answer
        if status != "OK":
            raise ImapError(f"IMAP {what} failed: {_text(data)}")
        return data


# -- protocol helpers (pure) --------------------------------------------------------------------------------
def quote_mailbox(name: str) -> str:
    """A folder name as a quoted IMAP string, in modified UTF-7 (RFC 3501 5.1.3)."""
    encoded = encode_modified_utf7(name)
    return '"' + encoded.replace("\\", "\\\\").replace('"', '\\"') + '"'


def encode_modified_utf7(text: str) -> str:
    result: list[str] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            raw = "".join(pending).encode("utf-16-be")
            result.append("&" + base64.b64encode(raw).decode("ascii").rstrip("=").replace("/", ",") + "-")
            pending.clear()

    for char in text:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            result.append("&-" if char == "&" else char)
        else:
            pending.append(char)
    flush()
    return "".join(result)


def decode_modified_utf7(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        body = match.group(1)
        if not body:
            return "&"
        padded = body.replace(",", "/") + "=" * (-len(body) % 4)
        return base64.b64decode(padded).decode("utf-16-be")

    return re.sub(r"&([A-Za-z0-9+,]*)-", replace, text)


def _parse_list(data: Iterable[object]) -> Iterator[tuple[list[str], str]]:
    """(flags, decoded name) of each LIST answer line (names may come quoted, bare or as a literal)."""
    for item in data:
        if item is None:
            continue
        literal: bytes | None = None
        if isinstance(item, tuple):
            line, literal = item[0], item[1]
        else:
            line = item  # type: ignore[assignment]
        match = _LIST_LINE.match(bytes(line))  # type: ignore[arg-type]
        if not match:
            continue
        flags = match.group("flags").decode("ascii", "replace").split()
        raw_name = match.group("name").strip()
        if literal is not None:
            name = literal.decode("utf-8", "replace")
        elif raw_name.startswith(b'"'):
            name = re.sub(r"\\(.)", r"\1", raw_name[1:-1].decode("utf-8", "replace"))
        else:
            name = raw_name.decode("utf-8", "replace")
        yield flags, decode_modified_utf7(name)


def _fetch_items(data: Iterable[object]) -> Iterator[tuple[bytes, bytes]]:
    """(metadata, literal) per message of a FETCH answer; metadata after the literal (some servers send FLAGS
    there) is joined to it."""
    meta: bytes | None = None
    literal = b""
    for item in data:
        if isinstance(item, tuple):
            if meta is not None:
                yield meta, literal
            meta, literal = bytes(item[0]), bytes(item[1])
        elif isinstance(item, bytes) and meta is not None:
            meta += b" " + item
    if meta is not None:
        yield meta, literal


def _fetch_meta(meta: bytes) -> tuple[int | None, frozenset[str], datetime | None]:
    uid = _UID.search(meta)
    flags = _FLAGS.search(meta)
    arrived = _INTERNALDATE.search(meta)
    internal_date = None
    if arrived:
        parts = imaplib.Internaldate2tuple(b"INTERNALDATE " + arrived.group(1))
        if parts is not None:
            internal_date = datetime.fromtimestamp(time.mktime(parts)).astimezone()
    return (
        int(uid.group(1)) if uid else None,
        frozenset(flags.group(1).decode("utf-8", "replace").split()) if flags else frozenset(),
        internal_date,
    )


def _uid_set(uids: Sequence[int]) -> str:
    return ",".join(str(uid) for uid in uids)


def _text(value: object) -> str:
    if isinstance(value, list | tuple):
        return " ".join(_text(item) for item in value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)
