"""The "Mail and contacts" admin page: the IMAP and CardDAV connections and the two flows' main choices.

Plain forms over ``salesbridge.web.mail_contacts`` (the same path as ``/api/mail`` and ``/api/contacts``): a
password field left blank keeps the stored password, "remove it" removes it, and what is typed is stored in
the encrypted vault, never written to the file nor shown again. A refused form is shown again with what was
typed (passwords excepted) and the problem named by its key path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from salesbridge.sync.config import ConfigError
from salesbridge.web.auth import Principal
from salesbridge.web.mail_contacts import (
    CONTACTS,
    MAIL,
    ContactsIn,
    MailIn,
    contacts_out,
    mail_out,
    remove,
    save_contacts,
    save_mail,
)
from salesbridge.web.pages_common import AdminPage, redirect, render, web

router = APIRouter(include_in_schema=False)
PAGE = "/mail-contacts"


def _flag_text(value: bool | str) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _flag(text: str) -> bool | str:
    """``true``/``false`` (or blank: true) as booleans; anything else (``starttls``, a CA path) as text."""
    cleaned = text.strip()
    return {"": True, "true": True, "false": False}.get(cleaned.lower(), cleaned)


def _password(form: Mapping[str, str], name: str) -> str | None:
    if form.get(f"clear_{name}"):
        return ""
    return form.get(name) or None


def _mail_values(request: Request, form: Mapping[str, str] | None) -> dict[str, Any]:
    if form is not None:
        return {key: form.get(key, "") for key in ("imap_host", "imap_port", "imap_ssl", "imap_verify",
                                                   "imap_username", "folder", "keyword", "unmatched")}
    mail = mail_out(web(request))
    imap = mail.imap
    return {"imap_host": imap.host if imap else "", "imap_port": imap.port if imap and imap.port else "",
            "imap_ssl": _flag_text(imap.ssl) if imap else "true",
            "imap_verify": _flag_text(imap.verify) if imap else "true",
            "imap_username": imap.username if imap else "", "folder": mail.folder, "keyword": mail.keyword,
            "unmatched": mail.unmatched}


def _contacts_values(request: Request, form: Mapping[str, str] | None) -> dict[str, Any]:
    if form is not None:
        return {key: form.get(key, "") for key in ("dav_url", "dav_username", "dav_verify", "address_book",
                                                   "category", "share_as", "no_account", "salesforce_filter")}
    contacts = contacts_out(web(request))
    dav = contacts.carddav
    return {"dav_url": dav.url if dav else "", "dav_username": dav.username if dav else "",
            "dav_verify": _flag_text(dav.verify) if dav else "true", "address_book": contacts.address_book,
            "category": contacts.category, "share_as": contacts.share_as, "no_account": contacts.no_account,
            "salesforce_filter": contacts.salesforce_filter or ""}


def _page(request: Request, principal: Principal, *, problem: str | None = None, status_code: int = 200,
          mail_form: Mapping[str, str] | None = None,
          contacts_form: Mapping[str, str] | None = None) -> HTMLResponse:
    state = web(request)
    mail, contacts = mail_out(state), contacts_out(state)
    return render(request, "mail_contacts.html", principal, status_code=status_code,
                  title="Mail and contacts", problem=problem, mail=mail, contacts=contacts,
                  mail_values=_mail_values(request, mail_form),
                  contacts_values=_contacts_values(request, contacts_form),
                  config_name=state.settings.config_path.name)


def _problem(section: str, error: ValidationError | ConfigError) -> str:
    if isinstance(error, ConfigError):
        return f"Not saved: {error.key or error.path}: {error.expected}"
    first = error.errors()[0]
    where = ".".join(str(part) for part in (section, *first["loc"]))
    return f"Not saved: {where}: {first['msg'].removeprefix('Value error, ')}"


def _form_dict(form: Any) -> dict[str, str]:
    return {key: value for key, value in form.items() if isinstance(value, str)}


@router.get(PAGE)
def mail_contacts_page(request: Request, principal: AdminPage) -> HTMLResponse:
    return _page(request, principal)


@router.post(f"{PAGE}/mail")
async def mail_save(request: Request, principal: AdminPage) -> Response:
    form = _form_dict(await request.form())
    try:
        body = MailIn.model_validate({
            "imap": {"host": form.get("imap_host", "").strip(),
                     "port": form.get("imap_port", "").strip() or None,
                     "ssl": _flag(form.get("imap_ssl", "true")), "verify": _flag(form.get("imap_verify", "")),
                     "username": form.get("imap_username", "").strip(),
                     "password": _password(form, "imap_password")},
            "folder": form.get("folder", "").strip(), "keyword": form.get("keyword", "").strip(),
            "unmatched": form.get("unmatched", "skip")})
        save_mail(web(request), body, principal.username)
    except (ValidationError, ConfigError) as error:
        return _page(request, principal, problem=_problem("mail", error), status_code=422, mail_form=form)
    return redirect(PAGE, notice="Mail settings saved. Run salesbridge check to try the connection.")


@router.post(f"{PAGE}/contacts")
async def contacts_save(request: Request, principal: AdminPage) -> Response:
    form = _form_dict(await request.form())
    try:
        body = ContactsIn.model_validate({
            "carddav": {"url": form.get("dav_url", "").strip(),
                        "username": form.get("dav_username", "").strip(),
                        "verify": _flag(form.get("dav_verify", "")),
                        "password": _password(form, "dav_password")},
            "address_book": form.get("address_book", "").strip(),
            "category": form.get("category", "").strip(),
            "share_as": form.get("share_as", "contact"), "no_account": form.get("no_account", "lead"),
            "salesforce_filter": form.get("salesforce_filter", "")})
        save_contacts(web(request), body, principal.username)
    except (ValidationError, ConfigError) as error:
        return _page(request, principal, problem=_problem("contacts", error), status_code=422,
                     contacts_form=form)
    return redirect(PAGE, notice="Contacts settings saved. Run salesbridge check to try the connection.")


@router.post(f"{PAGE}/{{section}}/remove")
def section_remove(section: str, request: Request, principal: AdminPage) -> Response:
    chosen = {"mail": MAIL, "contacts": CONTACTS}.get(section)
    if chosen is None:
        return redirect(PAGE, error=f"There is no section '{section}'.")
    try:
        removed = remove(web(request), chosen, principal.username)
    except ConfigError as error:
        return _page(request, principal, problem=f"Not removed: {error.key or error.path}: {error.expected}",
                     status_code=422)
    if not removed:
        return redirect(PAGE, error=f"There is no '{section}' section to remove.")
    name = web(request).settings.config_path.name
    return redirect(PAGE, notice=f"The {section} flow is removed from {name}.")
