"""The ``mail`` and ``contacts`` sections as the admin page and the API edit them.

One path for both: what a person sets (the IMAP and CardDAV connections and the flows' main choices) replaces
those keys of the section, and every other key the file holds (``owner``, ``search_folders``, ``schedule``,
``conflict``...) is kept. Passwords go to the encrypted vault as the Salesforce connection form's do: the
file refers to ``${SB_SECRET_MAIL_IMAP_PASSWORD}`` or ``${SB_SECRET_CONTACTS_CARDDAV_PASSWORD}``, a password
left out keeps the stored one, an empty one removes it, and a ``${VARIABLE}`` typed in is written as the
reference it is. The result is validated as a whole (``parse_config``) before the file is written
(``ConfigStore``, which keeps the ``.bak``); a refused change leaves the vault as it was too. Answers never
carry a password: only whether one is set and where it comes from.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from salesbridge.sync.config import ConfigError, HubConfig
from salesbridge.web import accounts
from salesbridge.web.api.settings_api import _secret_state as secret_state
from salesbridge.web.config_store import ConfigMissing, mask_secrets
from salesbridge.web.schemas import SecretState
from salesbridge.web.state import WebState
from salesbridge.web.vault import delete_secret, load_secrets, put_secret, stored_names, variable_name

_REFERENCE = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\}$")
_PASSWORD_HELP = "null or left out: keep the stored one; '': remove it; a ${VARIABLE} is written as given"


@dataclass(frozen=True)
class Section:
    """A top-level section with one connection holding one password."""

    name: Literal["mail", "contacts"]
    connection: Literal["imap", "carddav"]

    @property
    def variable(self) -> str:
        return variable_name(f"{self.name}.{self.connection}.password")


MAIL = Section("mail", "imap")
CONTACTS = Section("contacts", "carddav")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ImapIn(_In):
    host: str = Field(min_length=1, max_length=255)
    port: int | None = Field(default=None, ge=1, le=65535, description="default: 993 with ssl, else 143")
    ssl: bool | Literal["starttls"] = Field(default=True, description="true (IMAPS), starttls or false")
    verify: bool | str = Field(default=True, description="TLS: true, false, or a CA bundle path")
    username: str = Field(min_length=1, max_length=255)
    password: str | None = Field(default=None, max_length=2000, description=_PASSWORD_HELP)


class MailIn(_In):
    """The mail flow's connection and choices; the section's other keys stay as they are."""

    imap: ImapIn
    folder: str = Field(default="Salesforce Emails", min_length=1, max_length=255)
    keyword: str = Field(default="Salesforce", min_length=1, max_length=255)
    unmatched: Literal["skip", "lead", "error"] = "skip"


class CardDavIn(_In):
    url: str = Field(min_length=1, max_length=2000)
    username: str | None = Field(default=None, max_length=255)
    password: str | None = Field(default=None, max_length=2000, description=_PASSWORD_HELP)
    verify: bool | str = Field(default=True, description="TLS: true, false, or a CA bundle path")


class ContactsIn(_In):
    """The contacts flow's connection and choices; the section's other keys stay as they are."""

    carddav: CardDavIn
    address_book: str = Field(default="Salesforce Contacts", min_length=1, max_length=255)
    category: str = Field(default="Salesforce", min_length=1, max_length=255)
    share_as: Literal["contact", "lead"] = "contact"
    no_account: Literal["lead", "skip"] = "lead"
    salesforce_filter: str | None = Field(default=None, max_length=4000,
                                          description="SOQL condition on Contact")


class ImapOut(BaseModel):
    host: str | None
    port: int | str | None
    ssl: bool | str
    verify: bool | str
    username: str | None
    password: SecretState


class MailOut(BaseModel):
    configured: bool
    imap: ImapOut | None = None
    folder: str = "Salesforce Emails"
    keyword: str = "Salesforce"
    unmatched: str = "skip"
    schedule: Any = Field(default=None, description="as configured (set it in the YAML file)")


class CardDavOut(BaseModel):
    url: str | None = Field(description="a password in the URL is masked")
    username: str | None
    verify: bool | str
    password: SecretState


class ContactsOut(BaseModel):
    configured: bool
    carddav: CardDavOut | None = None
    address_book: str = "Salesforce Contacts"
    category: str = "Salesforce"
    share_as: str = "contact"
    no_account: str = "lead"
    salesforce_filter: str | None = None
    schedule: Any = Field(default=None, description="as configured (set it in the YAML file)")


# -- reading -------------------------------------------------------------------------------------------------


def _raw_section(state: WebState, section: Section) -> dict[str, Any] | None:
    """The section as the file holds it; None without one (or without a readable file: saving then names
    what is wrong with it)."""
    try:
        data = state.config.read_raw()
    except (ConfigMissing, ConfigError):
        return None
    found = data.get(section.name)
    return found if isinstance(found, dict) else None


def _connection(raw: dict[str, Any], section: Section) -> dict[str, Any]:
    found = raw.get(section.connection)
    return found if isinstance(found, dict) else {}


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _password_state(state: WebState, value: Any) -> SecretState:
    with state.session() as session:
        vault = stored_names(session)
    return secret_state(value, vault, dict(os.environ))


def mail_out(state: WebState) -> MailOut:
    raw = _raw_section(state, MAIL)
    if raw is None:
        return MailOut(configured=False)
    imap = _connection(raw, MAIL)
    ssl, verify = imap.get("ssl", True), imap.get("verify", True)
    return MailOut(
        configured=True,
        imap=ImapOut(host=_text(imap.get("host")), port=imap.get("port") if isinstance(imap.get("port"), int)
                     else _text(imap.get("port")), ssl=ssl if isinstance(ssl, bool) else str(ssl),
                     verify=verify if isinstance(verify, bool) else str(verify),
                     username=_text(imap.get("username")),
                     password=_password_state(state, imap.get("password"))),
        folder=str(raw.get("folder") or "Salesforce Emails"), keyword=str(raw.get("keyword") or "Salesforce"),
        unmatched=str(raw.get("unmatched") or "skip"), schedule=mask_secrets(raw.get("schedule")))


def contacts_out(state: WebState) -> ContactsOut:
    raw = _raw_section(state, CONTACTS)
    if raw is None:
        return ContactsOut(configured=False)
    dav = _connection(raw, CONTACTS)
    verify = dav.get("verify", True)
    return ContactsOut(
        configured=True,
        carddav=CardDavOut(url=_text(mask_secrets({"url": dav.get("url")})["url"]),
                           username=_text(dav.get("username")),
                           verify=verify if isinstance(verify, bool) else str(verify),
                           password=_password_state(state, dav.get("password"))),
        address_book=str(raw.get("address_book") or "Salesforce Contacts"),
        category=str(raw.get("category") or "Salesforce"), share_as=str(raw.get("share_as") or "contact"),
        no_account=str(raw.get("no_account") or "lead"),
        salesforce_filter=_text(raw.get("salesforce_filter")),
        schedule=mask_secrets(raw.get("schedule")))


# -- writing -------------------------------------------------------------------------------------------------


def save_mail(state: WebState, body: MailIn, by: str) -> HubConfig:
    imap = {"host": body.imap.host, "port": body.imap.port, "username": body.imap.username,
            "ssl": body.imap.ssl,
            "verify": None if body.imap.verify is True else body.imap.verify}
    settings = {"folder": body.folder, "keyword": body.keyword, "unmatched": body.unmatched}
    return _save(state, MAIL, imap, body.imap.password, settings, by)


def save_contacts(state: WebState, body: ContactsIn, by: str) -> HubConfig:
    dav = {"url": body.carddav.url, "username": body.carddav.username or None,
           "verify": None if body.carddav.verify is True else body.carddav.verify}
    settings = {"address_book": body.address_book, "category": body.category, "share_as": body.share_as,
                "no_account": body.no_account,
                "salesforce_filter": (body.salesforce_filter or "").strip() or None}
    return _save(state, CONTACTS, dav, body.carddav.password, settings, by)


def remove(state: WebState, section: Section, by: str) -> bool:
    """Take the section out of the file and its password out of the vault; False when there was none."""
    if _raw_section(state, section) is None:
        return False
    with state.session() as session:
        environ = {**load_secrets(session, state.box), **os.environ}
        environ.pop(section.variable, None)
        state.config.edit(lambda data: data.pop(section.name, None), environ)
        delete_secret(session, section.variable)
        accounts.audit(session, by, f"{section.name}.remove")
    state.secrets_changed()
    return True


def _save(state: WebState, section: Section, connection: dict[str, Any], password: str | None,
          settings: dict[str, Any], by: str) -> HubConfig:
    """Store the password as asked, then rewrite the section; a config that does not validate raises
    ConfigError before the vault change commits."""
    with state.session() as session:
        environ = load_secrets(session, state.box)
        written = _store_password(state, session, section.variable, password, by, environ)
        environ = {**environ, **os.environ}

        def change(data: dict[str, Any]) -> None:
            current = data.get(section.name) if isinstance(data.get(section.name), dict) else {}
            new_connection = {key: value for key, value in connection.items() if value is not None}
            keep = _connection(current, section).get("password") if password is None else written
            if keep not in (None, ""):
                new_connection["password"] = keep
            merged = {**current, section.connection: new_connection, **settings}
            data[section.name] = {key: value for key, value in merged.items() if value is not None}

        config = state.config.edit(change, environ)
        accounts.audit(session, by, f"{section.name}.settings", password_changed=password is not None)
    state.secrets_changed()
    return config


def _store_password(state: WebState, session: Any, variable: str, password: str | None, by: str,
                    environ: dict[str, str]) -> str | None:
    """What the file is to hold for a password that was sent: a reference to the vault, the reference typed
    in, or nothing (removed). ``environ`` follows the vault, so that validation sees the new value."""
    if password is None or password == f"${{{variable}}}":
        return password
    if password == "" or _REFERENCE.match(password):
        delete_secret(session, variable)
        environ.pop(variable, None)
        return password or None
    put_secret(session, state.box, variable, password, by)
    environ[variable] = password
    return f"${{{variable}}}"
