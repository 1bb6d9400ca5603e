"""The "Mail and contacts" page and ``/api/mail``, ``/api/contacts``: admins set the IMAP and CardDAV
connections and the flows' choices; passwords go to the encrypted vault (the file refers to them) and never
come back in any answer; other roles are refused."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from api_support import SF_CLIENT_SECRET, SF_PASSWORD, WebSetup, hub_config_data, web_setup
from sqlalchemy import select

from salesbridge.store.web_models import Role, StoredSecret
from salesbridge.sync.config import load_config
from salesbridge.web.settings import DATABASE_VARIABLE, FERNET_KEY_VARIABLE, SECRET_KEY_VARIABLE
from salesbridge.web.vault import secret_environ

IMAP_SECRET = "imap-secret-Xq81"
DAV_SECRET = "dav-secret-Pz42"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
MAIL_FORM = {"imap_host": "imap.example.com", "imap_port": "993", "imap_ssl": "true", "imap_verify": "true",
             "imap_username": "me@example.com", "imap_password": IMAP_SECRET, "folder": "To Salesforce",
             "keyword": "Salesforce", "unmatched": "lead"}
CONTACTS_FORM = {"dav_url": "https://dav.example/", "dav_username": "me", "dav_password": DAV_SECRET,
                 "dav_verify": "true", "address_book": "Salesforce Contacts", "category": "Salesforce",
                 "share_as": "lead", "no_account": "skip", "salesforce_filter": "MailingCity = 'Berlin'"}


@pytest.fixture
def web(tmp_path: Path) -> Iterator[WebSetup]:
    """A hub config (no org needed: nothing here logs in to Salesforce) and an admin."""
    with web_setup(tmp_path) as setup:
        org = SimpleNamespace(url="https://127.0.0.1:9", ca_path=tmp_path / "ca.pem")
        setup.config_path.write_text(yaml.safe_dump(hub_config_data(org, f"sqlite:///{tmp_path / 'app.db'}")))
        setup.add_user("admin", Role.ADMIN)
        yield setup
        setup.client.assert_never_sent(IMAP_SECRET, DAV_SECRET, SF_CLIENT_SECRET, SF_PASSWORD)


def page_csrf(web: WebSetup, username: str = "admin") -> str:
    web.login(web.client, username)
    page = web.client.get("/mail-contacts")
    assert page.status_code == 200, page.text
    found = CSRF.search(page.text)
    assert found
    return found.group(1)


def post(web: WebSetup, path: str, data: dict[str, str], csrf: str, expect: int = 303):  # noqa: ANN201
    answer = web.client.post(path, data={"csrf_token": csrf, **data}, follow_redirects=False)
    assert answer.status_code == expect, answer.text[:2000]
    return answer


def on_disk(web: WebSetup) -> dict:
    return yaml.safe_load(web.config_path.read_text(encoding="utf-8"))


def stored(web: WebSetup) -> dict[str, str]:
    with web.state.session() as session:
        rows = session.scalars(select(StoredSecret))
        return {row.name: web.state.box.decrypt(row.ciphertext) for row in rows}


def test_an_admin_saves_mail_and_contacts_and_the_file_refers_to_the_vault(
        web: WebSetup, monkeypatch: pytest.MonkeyPatch) -> None:
    csrf = page_csrf(web)
    assert '<a href="/mail-contacts">Mail and contacts</a>' in web.client.get("/config").text

    saved = post(web, "/mail-contacts/mail", MAIL_FORM, csrf)
    assert saved.headers["location"].startswith("/mail-contacts?notice=Mail+settings+saved")
    post(web, "/mail-contacts/contacts", CONTACTS_FORM, csrf)

    data = on_disk(web)
    assert data["mail"] == {"imap": {"host": "imap.example.com", "port": 993, "username": "me@example.com",
                                     "ssl": True, "password": "${SB_SECRET_MAIL_IMAP_PASSWORD}"},
                            "folder": "To Salesforce", "keyword": "Salesforce", "unmatched": "lead"}
    assert data["contacts"] == {
        "carddav": {"url": "https://dav.example/", "username": "me",
                    "password": "${SB_SECRET_CONTACTS_CARDDAV_PASSWORD}"},
        "address_book": "Salesforce Contacts", "category": "Salesforce", "share_as": "lead",
        "no_account": "skip", "salesforce_filter": "MailingCity = 'Berlin'"}
    text = web.config_path.read_text(encoding="utf-8")
    assert IMAP_SECRET not in text and DAV_SECRET not in text
    assert "mail" in yaml.safe_load(web.config_path.with_name("salesbridge.yaml.bak").read_text())
    assert "contacts" not in yaml.safe_load(web.config_path.with_name("salesbridge.yaml.bak").read_text())
    assert stored(web) == {"SB_SECRET_MAIL_IMAP_PASSWORD": IMAP_SECRET, "SB_SECRET_CONTACTS_CARDDAV_PASSWORD":
                           DAV_SECRET}

    shown = web.client.get("/mail-contacts").text
    assert "Saved (encrypted by the hub): leave blank to keep it." in shown
    assert 'value="To Salesforce"' in shown and "<option value=\"lead\" selected>" in shown

    # A blank password keeps the stored one; keys the page does not edit stay as the file has them.
    data["mail"]["owner"] = "admin@sandbox.example"
    data["mail"]["schedule"] = {"every": "15m"}
    web.config_path.write_text(yaml.safe_dump(data), encoding="utf-8")
    post(web, "/mail-contacts/mail", {**MAIL_FORM, "imap_password": "", "imap_port": "", "unmatched": "skip"},
         csrf)
    mail = on_disk(web)["mail"]
    assert mail["imap"]["password"] == "${SB_SECRET_MAIL_IMAP_PASSWORD}" and "port" not in mail["imap"]
    assert (mail["unmatched"], mail["owner"], mail["schedule"]) == (
        "skip", "admin@sandbox.example", {"every": "15m"})
    assert stored(web)["SB_SECRET_MAIL_IMAP_PASSWORD"] == IMAP_SECRET

    # The command line reads the same stored passwords.
    monkeypatch.setenv(DATABASE_VARIABLE, web.state.settings.database_url)
    monkeypatch.setenv(FERNET_KEY_VARIABLE, web.state.settings.fernet_keys[0])
    monkeypatch.setenv(SECRET_KEY_VARIABLE, web.state.settings.secret_key)
    config = load_config(web.config_path, environ=secret_environ(web.config_path))
    assert config.mail is not None and config.contacts is not None
    assert config.mail.imap.password.get_secret_value() == IMAP_SECRET
    assert config.contacts.carddav.password is not None
    assert config.contacts.carddav.password.get_secret_value() == DAV_SECRET

    # "remove it" takes the password out of the vault and the file; removing the section takes the rest.
    post(web, "/mail-contacts/contacts", {**CONTACTS_FORM, "dav_password": "", "clear_dav_password": "1"},
         csrf)
    assert "password" not in on_disk(web)["contacts"]["carddav"]
    assert "SB_SECRET_CONTACTS_CARDDAV_PASSWORD" not in stored(web)
    post(web, "/mail-contacts/mail/remove", {}, csrf)
    assert "mail" not in on_disk(web) and stored(web) == {}


def test_a_refused_form_names_the_key_and_changes_nothing(web: WebSetup) -> None:
    csrf = page_csrf(web)
    before = web.config_path.read_text(encoding="utf-8")

    refused = post(web, "/mail-contacts/mail", {**MAIL_FORM, "keyword": "two words"}, csrf, expect=422)
    assert "Not saved: mail.keyword: &#39;two words&#39; is not an IMAP keyword" in refused.text
    assert 'value="imap.example.com"' in refused.text, "what was typed is shown again (passwords excepted)"
    bad_port = post(web, "/mail-contacts/mail", {**MAIL_FORM, "imap_port": "imap"}, csrf, expect=422)
    assert "Not saved: mail.imap.port:" in bad_port.text
    no_url = post(web, "/mail-contacts/contacts", {**CONTACTS_FORM, "dav_url": "dav.example"}, csrf,
                  expect=422)
    assert "Not saved: contacts.carddav.url:" in no_url.text

    assert web.config_path.read_text(encoding="utf-8") == before
    assert stored(web) == {}, "a refused change stores no password either"


def test_viewers_and_operators_are_refused(web: WebSetup) -> None:
    for role in (Role.VIEWER, Role.OPERATOR):
        headers = web.as_role(role)
        assert web.client.get("/api/mail", headers=headers).status_code == 403
        assert web.client.put("/api/contacts", json={"carddav": {"url": "https://x/"}},
                              headers=headers).status_code == 403
        assert web.client.delete("/api/mail", headers=headers).status_code == 403
    web.add_user("viewer", Role.VIEWER)
    web.login(web.client, "viewer")
    assert web.client.get("/mail-contacts").status_code == 403
    web.add_user("operator", Role.OPERATOR)
    web.login(web.client, "operator")
    assert web.client.get("/mail-contacts").status_code == 403
    csrf = CSRF.search(web.client.get("/records").text)
    assert csrf
    answer = web.client.post("/mail-contacts/mail", data={"csrf_token": csrf.group(1), **MAIL_FORM},
                             follow_redirects=False)
    assert answer.status_code == 403 and "admin" in answer.text
    assert "mail" not in on_disk(web)


def test_the_api_sets_masks_and_removes_the_sections(web: WebSetup) -> None:
    admin = web.as_role(Role.ADMIN)
    assert web.client.get("/api/mail", headers=admin).json()["configured"] is False

    body = {"imap": {"host": "imap.example.com", "username": "me@example.com", "password": IMAP_SECRET,
                     "ssl": "starttls"}, "folder": "Salesforce Emails", "unmatched": "error"}
    answer = web.client.put("/api/mail", json=body, headers=admin)
    assert answer.status_code == 200, answer.text
    shown = answer.json()
    assert shown["imap"]["password"] == {"set": True, "source": "vault"}
    assert (shown["imap"]["ssl"], shown["unmatched"]) == ("starttls", "error")
    assert on_disk(web)["mail"]["imap"]["password"] == "${SB_SECRET_MAIL_IMAP_PASSWORD}"
    assert web.client.get("/api/mail", headers=admin).json() == shown

    contacts = {"carddav": {"url": "https://me:url-pw@dav.example/", "password": "${DAV_PASSWORD}"},
                "share_as": "lead"}
    refused = web.client.put("/api/contacts", json=contacts, headers=admin)
    assert refused.status_code == 422
    assert refused.json()["detail"]["key"] == "contacts.carddav.password"
    assert "DAV_PASSWORD is not set" in refused.json()["detail"]["expected"]
    contacts["carddav"]["password"] = DAV_SECRET
    saved = web.client.put("/api/contacts", json=contacts, headers=admin).json()
    assert saved["carddav"]["url"] == "https://me:********@dav.example/"
    assert saved["carddav"]["password"] == {"set": True, "source": "vault"}

    assert web.client.delete("/api/contacts", headers=admin).status_code == 204
    assert web.client.delete("/api/contacts", headers=admin).status_code == 404
    assert "contacts" not in on_disk(web) and set(stored(web)) == {"SB_SECRET_MAIL_IMAP_PASSWORD"}
    web.client.assert_never_sent("url-pw")
