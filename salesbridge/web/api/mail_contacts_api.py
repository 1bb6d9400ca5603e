"""``/api/mail`` and ``/api/contacts``: the mail and contacts flows' settings (admins only), beside
``/api/connections``. Passwords are stored encrypted and never sent back (``web.mail_contacts``)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from salesbridge.web.api.common import AUTH_ERRORS, CONFIG_INVALID, NOT_FOUND
from salesbridge.web.auth import AdminDep, StateDep
from salesbridge.web.mail_contacts import (
    CONTACTS,
    MAIL,
    ContactsIn,
    ContactsOut,
    MailIn,
    MailOut,
    Section,
    contacts_out,
    mail_out,
    remove,
    save_contacts,
    save_mail,
)
from salesbridge.web.state import WebState

router = APIRouter(tags=["settings"])


@router.get("/mail", response_model=MailOut, responses={**AUTH_ERRORS})
def get_mail(_admin: AdminDep, state: StateDep) -> MailOut:
    """The mail flow's IMAP connection and choices; for the password only whether it is set and where from."""
    return mail_out(state)


@router.put("/mail", response_model=MailOut, responses={**AUTH_ERRORS, **CONFIG_INVALID})
def put_mail(body: MailIn, admin: AdminDep, state: StateDep) -> MailOut:
    """Set the IMAP connection, folder, keyword and what happens to unmatched senders. The password is stored
    encrypted and the file refers to it; the section's other keys (owner, schedule...) are kept."""
    save_mail(state, body, admin.username)
    return mail_out(state)


@router.delete("/mail", status_code=status.HTTP_204_NO_CONTENT, responses={**AUTH_ERRORS, **NOT_FOUND,
                                                                            **CONFIG_INVALID})
def delete_mail(admin: AdminDep, state: StateDep) -> None:
    """Take the ``mail`` section out of the configuration and its password out of the vault."""
    _remove(state, MAIL, admin.username)


@router.get("/contacts", response_model=ContactsOut, responses={**AUTH_ERRORS})
def get_contacts(_admin: AdminDep, state: StateDep) -> ContactsOut:
    """The contacts flow's CardDAV connection and choices; for the password only whether it is set and where
    from."""
    return contacts_out(state)


@router.put("/contacts", response_model=ContactsOut, responses={**AUTH_ERRORS, **CONFIG_INVALID})
def put_contacts(body: ContactsIn, admin: AdminDep, state: StateDep) -> ContactsOut:
    """Set the CardDAV connection, address book, category, how cards are shared and the Contact filter. The
    password is stored encrypted and the file refers to it; the section's other keys are kept."""
    save_contacts(state, body, admin.username)
    return contacts_out(state)


@router.delete("/contacts", status_code=status.HTTP_204_NO_CONTENT, responses={**AUTH_ERRORS, **NOT_FOUND,
                                                                                **CONFIG_INVALID})
def delete_contacts(admin: AdminDep, state: StateDep) -> None:
    """Take the ``contacts`` section out of the configuration and its password out of the vault."""
    _remove(state, CONTACTS, admin.username)


def _remove(state: WebState, section: Section, by: str) -> None:
    if not remove(state, section, by):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"there is no '{section.name}' section")
