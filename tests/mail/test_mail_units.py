"""Pure parts of the mail flow: the config section, folder name encoding, reading messages."""

from __future__ import annotations

from typing import Any

import pytest

from salesbridge.connectors.imap import decode_modified_utf7, encode_modified_utf7, quote_mailbox
from salesbridge.flows._mail_message import (
    MalformedMessage,
    body_text,
    html_to_text,
    read_headers,
    task_description,
    task_subject,
)
from salesbridge.sync.config import ConfigError, parse_config

BASE: dict[str, Any] = {
    "connections": {
        "salesforce": {"flow": "client_credentials", "client_id": "c", "client_secret": "s"},
        "app": {"url": "sqlite://"},
    }
}


def config_with(mail: dict[str, Any]) -> Any:
    return parse_config({**BASE, "mail": mail}, "hub.yaml", environ={"IMAP_PW": "secret"})


def test_the_mail_section_defaults_and_secret() -> None:
    config = config_with(
        {"imap": {"host": "imap.example", "username": "me@example.com", "password": "${IMAP_PW}"}}
    )
    mail = config.mail
    assert mail is not None
    assert (mail.folder, mail.keyword, mail.unmatched, mail.imap.effective_port) == (
        "Salesforce Emails",
        "Salesforce",
        "skip",
        993,
    )
    assert mail.imap.password.get_secret_value() == "secret"
    assert "secret" not in repr(mail)
    starttls = config_with({"imap": {"host": "h", "username": "u", "password": "p", "ssl": "starttls"}})
    assert starttls.mail is not None and starttls.mail.imap.effective_port == 143


@pytest.mark.parametrize(
    "mail, key, expected",
    [
        ({"imap": {"host": "h", "username": "u"}}, "mail.imap.password", "Field required"),
        (
            {"imap": {"host": "h", "username": "u", "password": "p"}, "unmatched": "ignore"},
            "mail.unmatched",
            "'skip', 'lead' or 'error'",
        ),
        (
            {"imap": {"host": "h", "username": "u", "password": "p"}, "keyword": "Sales force"},
            "mail.keyword",
            "'Sales force' is not an IMAP keyword",
        ),
        (
            {"imap": {"host": "h", "username": "u", "password": "p", "port": 0}},
            "mail.imap.port",
            "greater than",
        ),
        (
            {"imap": {"host": "h", "username": "u", "password": "${NOPE}"}},
            "mail.imap.password",
            "environment variable NOPE is not set",
        ),
    ],
)
def test_mail_config_errors_name_the_key(mail: dict[str, Any], key: str, expected: str) -> None:
    with pytest.raises(ConfigError) as error:
        config_with(mail)
    assert error.value.key == key
    assert expected in error.value.expected
    assert str(error.value).startswith(f"hub.yaml: {key}: ")


def test_contacts_config_errors_name_the_key() -> None:
    with pytest.raises(ConfigError) as error:
        parse_config({**BASE, "contacts": {"carddav": {"url": "dav.example"}}}, "hub.yaml")
    assert error.value.key == "contacts.carddav.url"
    with pytest.raises(ConfigError) as error:
        parse_config(
            {**BASE, "contacts": {"carddav": {"url": "https://dav.example"}, "share_as": "account"}},
            "hub.yaml",
        )
    assert error.value.key == "contacts.share_as"


@pytest.mark.parametrize("name", ["INBOX", "Salesforce Emails", "Projekte/Überblick", "a&b", "日本語", 'x"y'])
def test_folder_names_round_trip_through_modified_utf7(name: str) -> None:
    encoded = encode_modified_utf7(name)
    assert encoded.isascii()
    assert decode_modified_utf7(encoded) == name
    assert quote_mailbox(name).startswith('"') and quote_mailbox(name).endswith('"')


def test_known_modified_utf7_spellings() -> None:
    assert encode_modified_utf7("Entwürfe") == "Entw&APw-rfe"
    assert encode_modified_utf7("a&b") == "a&-b"


def test_headers_key_participants_and_task_text() -> None:
    raw = (
        b"From: =?utf-8?q?J=C3=BCrgen_M=C3=BCller?= <Juergen@Example.COM>\r\n"
        b"To: a@x.example, B <b@x.example>\r\nCc: a@x.example, c@x.example\r\n"
        b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\nDate: Tue, 3 Nov 2026 23:30:00 -0800\r\n"
        b"Message-ID: <abc@example.com>\r\n\r\n"
    )
    headers = read_headers(raw)
    assert headers.key == "<abc@example.com>"
    assert [address.email for address in headers.participants()] == [
        "juergen@example.com",
        "a@x.example",
        "b@x.example",
        "c@x.example",
    ]
    assert task_subject(headers) == "Email: Grüße"
    description = task_description(headers, "body")
    assert description.startswith(
        "From: Jürgen Müller <juergen@example.com>\nTo: a@x.example, B <b@x.example>"
    )
    assert description.endswith("Message-ID: <abc@example.com>\n\nbody")
    assert headers.date is not None and headers.date.date().isoformat() == "2026-11-03"  # the writer's day


def test_a_message_without_message_id_is_keyed_by_its_headers() -> None:
    first = read_headers(b"From: a@x.example\r\nSubject: s\r\nDate: Tue, 3 Nov 2026 10:00:00 +0000\r\n\r\n")
    same = read_headers(b"From: a@x.example\r\nSubject: s\r\nDate: Tue, 3 Nov 2026 10:00:00 +0000\r\n\r\n")
    other = read_headers(b"From: a@x.example\r\nSubject: t\r\nDate: Tue, 3 Nov 2026 10:00:00 +0000\r\n\r\n")
    assert first.key == same.key != other.key
    assert first.key.startswith("sha256:") and first.message_id is None
    long_id = "<" + "x" * 300 + "@example>"
    assert read_headers(f"From: a@x.example\r\nMessage-ID: {long_id}\r\n\r\n".encode()).key.startswith(
        "sha256:"
    )


def test_messages_without_a_sender_are_malformed() -> None:
    with pytest.raises(MalformedMessage, match="no sender address"):
        read_headers(b"To: a@x.example\r\nSubject: s\r\n\r\n")
    with pytest.raises(MalformedMessage):
        read_headers(b"From: undisclosed\r\n\r\n")


def test_body_text_prefers_plain_and_reduces_html() -> None:
    multipart = (
        b"From: a@x.example\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>html</p>\r\n"
        b"--b\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\nGr\xfc\xdfe\r\n--b--\r\n"
    )
    assert body_text(multipart) == "Grüße"
    unknown_charset = (
        b"From: a@x.example\r\nContent-Type: text/plain; charset=x-unknown\r\n\r\nplain words\r\n"
    )
    assert body_text(unknown_charset) == "plain words"
    assert (
        html_to_text(
            "<html><head><title>t</title></head><body><script>x()</script><div>A &amp; B</div>"
            "<br>C</body></html>"
        )
        == "A & B\n\nC"
    )
