"""Integration settings through the API (admins only): the config exported as YAML with secrets masked and
imported back (validated, key paths in errors), flows edited one by one, Salesforce credentials stored
encrypted and never shown, a test login, and the CLI reading the same stored secrets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from api_support import SF_CLIENT_SECRET, SF_PASSWORD, WebSetup, hub_config_data, web_setup, write_hub_config
from sqlalchemy import select

from salesbridge.sandbox.server import RunningSandbox
from salesbridge.store.web_models import Role, StoredSecret
from salesbridge.sync.config import load_config
from salesbridge.web.config_store import MASK
from salesbridge.web.settings import DATABASE_VARIABLE, FERNET_KEY_VARIABLE, SECRET_KEY_VARIABLE
from salesbridge.web.vault import secret_environ

NEW_SECRET = "brand-new-client-secret"


@pytest.fixture
def web(tmp_path: Path, sandbox: RunningSandbox) -> Iterator[WebSetup]:
    with web_setup(tmp_path) as setup:
        write_hub_config(setup, sandbox)
        yield setup
        setup.client.assert_never_sent(SF_CLIENT_SECRET, SF_PASSWORD, NEW_SECRET)


def test_the_config_is_exported_as_yaml_with_secrets_masked(web: WebSetup) -> None:
    answer = web.client.get("/api/config", headers=web.as_role(Role.ADMIN))
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/yaml")
    exported = yaml.safe_load(answer.text)
    salesforce = exported["connections"]["salesforce"]
    assert salesforce["client_secret"] == MASK and salesforce["password"] == MASK
    assert salesforce["username"] == "admin@sandbox.example"
    assert exported["flows"][0]["name"] == "leads"
    for role in (Role.OPERATOR, Role.VIEWER):
        assert web.client.get("/api/config", headers=web.as_role(role)).status_code == 403


def test_an_exported_config_imports_back_keeping_the_stored_secrets(web: WebSetup) -> None:
    admin = web.as_role(Role.ADMIN)
    exported = yaml.safe_load(web.client.get("/api/config", headers=admin).text)
    exported["flows"][0]["conflict"] = "salesforce_wins"
    answer = web.client.put("/api/config", json={"yaml": yaml.safe_dump(exported)}, headers=admin)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"valid": True, "problem": None, "flows": ["leads"]}
    on_disk = yaml.safe_load(web.config_path.read_text(encoding="utf-8"))
    assert on_disk["connections"]["salesforce"]["client_secret"] == SF_CLIENT_SECRET
    assert on_disk["flows"][0]["conflict"] == "salesforce_wins"
    assert yaml.safe_load(web.config_path.with_name("salesbridge.yaml.bak").read_text())["flows"][0].get(
        "conflict") is None
    assert load_config(web.config_path).flows[0].conflict.value == "salesforce_wins"
    # The file itself, as application/yaml, is accepted as well.
    raw = web.client.put("/api/config", content=web.client.get("/api/config", headers=admin).text,
                         headers={**admin, "Content-Type": "application/yaml"})
    assert raw.status_code == 200
    assert [entry["action"] for entry in web.client.get("/api/audit", headers=admin).json()][:2] == \
        ["config.import", "config.import"]


def test_an_invalid_config_is_refused_with_its_key_path_and_nothing_is_written(web: WebSetup) -> None:
    admin = web.as_role(Role.ADMIN)
    before = web.config_path.read_text(encoding="utf-8")
    data = yaml.safe_load(web.client.get("/api/config", headers=admin).text)
    data["flows"][0]["fields"]["Status"]["values"] = "stages"
    answer = web.client.put("/api/config", json={"yaml": yaml.safe_dump(data)}, headers=admin)
    assert answer.status_code == 422
    problem = answer.json()["detail"]
    assert problem["key"] == "flows[0].fields.Status.values"
    assert "value map 'stages' is not defined" in problem["expected"]
    broken = web.client.put("/api/config", json={"yaml": "flows: [\n"}, headers=admin)
    assert broken.status_code == 422 and "not valid YAML" in broken.json()["detail"]["expected"]
    masked_nowhere = web.client.put("/api/config", json={"yaml": yaml.safe_dump(
        {**data, "connections": {**data["connections"], "app": {"url": MASK}}})}, headers=admin)
    assert masked_nowhere.status_code == 422
    assert masked_nowhere.json()["detail"]["key"] == "connections.app.url"
    assert web.config_path.read_text(encoding="utf-8") == before
    checked = web.client.post("/api/config/validate", json={"yaml": yaml.safe_dump(data)},
                              headers=admin).json()
    assert checked["valid"] is False and checked["problem"]["key"] == "flows[0].fields.Status.values"
    assert web.client.put("/api/config", content=b"x",
                          headers={**admin, "Content-Type": "text/csv"}).status_code \
        == 415


def test_flows_are_added_replaced_and_removed_one_at_a_time(web: WebSetup) -> None:
    admin = web.as_role(Role.ADMIN)
    spec = {"salesforce": "Contact", "table": "leads", "direction": "to_salesforce",
            "fields": {"LastName": "last_name"}, "enabled": False}
    added = web.client.put("/api/flows/contacts", json=spec, headers=admin)
    assert added.status_code == 200, added.text
    assert added.json()["name"] == "contacts" and added.json()["direction"] == "to_salesforce"
    assert added.json()["fields"] == [{"salesforce": "LastName", "app": "last_name", "transform": "none"}]
    assert web.client.get("/api/flows/contacts/config", headers=admin).json() == {**spec, "name": "contacts"}
    leads = web.client.get("/api/flows/leads/config", headers=admin).json()
    assert leads["fields"]["Status"] == {"app": "stage", "values": "pipeline"}
    assert web.client.get("/api/flows/leads/config", headers=web.as_role(Role.OPERATOR)).status_code == 403
    names = [f["name"] for f in web.client.get("/api/flows", headers=admin).json()]
    assert names == ["leads", "contacts"]
    bad = web.client.put("/api/flows/contacts", json={**spec, "direction": "sideways"}, headers=admin)
    assert bad.status_code == 422 and bad.json()["detail"]["key"] == "flows[1].direction"
    assert web.client.delete("/api/flows/contacts", headers=admin).status_code == 204
    assert web.client.delete("/api/flows/contacts", headers=admin).status_code == 404
    assert [f.name for f in load_config(web.config_path).flows] == ["leads"]


def test_salesforce_credentials_are_stored_encrypted_and_never_shown(
        web: WebSetup, sandbox: RunningSandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    admin = web.as_role(Role.ADMIN)
    shown = web.client.get("/api/connections", headers=admin).json()
    assert shown["salesforce"]["secrets"]["client_secret"] == {"set": True, "source": "file"}
    assert shown["salesforce"]["secrets"]["security_token"] == {"set": False, "source": "none"}
    connected_app = sandbox.org.settings.connected_app("salesbridge")
    assert connected_app is not None
    connected_app.client_secret = NEW_SECRET  # the org's secret was rotated; the admin enters the new one
    body = {"login_url": sandbox.url, "flow": "password", "client_id": "salesbridge", "username":
            "admin@sandbox.example", "verify": str(sandbox.ca_path), "client_secret": NEW_SECRET,
            "password": SF_PASSWORD}
    answer = web.client.put("/api/connections/salesforce", json=body, headers=admin)
    assert answer.status_code == 200, answer.text
    secrets = answer.json()["salesforce"]["secrets"]
    assert secrets["client_secret"] == {"set": True, "source": "vault"}
    assert secrets["password"] == {"set": True, "source": "vault"}
    on_disk = web.config_path.read_text(encoding="utf-8")
    assert NEW_SECRET not in on_disk and SF_PASSWORD not in on_disk
    assert "${SB_SECRET_SALESFORCE_CLIENT_SECRET}" in on_disk
    assert "${SB_SECRET_SALESFORCE_PASSWORD}" in on_disk
    with web.state.session() as session:
        stored = {row.name: row.ciphertext for row in session.scalars(select(StoredSecret))}
    assert set(stored) == {"SB_SECRET_SALESFORCE_CLIENT_SECRET", "SB_SECRET_SALESFORCE_PASSWORD"}
    assert all(NEW_SECRET not in text and SF_PASSWORD not in text for text in stored.values())
    assert web.state.box.decrypt(stored["SB_SECRET_SALESFORCE_CLIENT_SECRET"]) == NEW_SECRET

    tested = web.client.post("/api/connections/salesforce/test", headers=admin).json()
    assert tested["ok"] is True and tested["instance_url"].startswith("https://127.0.0.1")
    wrong = web.client.post("/api/connections/salesforce/test", json={**body, "password": "not the password"},
                            headers=admin).json()
    assert wrong["ok"] is False and "AuthenticationError" in wrong["message"]
    kept = web.client.put("/api/connections/salesforce",
                          json={**body, "client_secret": None, "password": None},
                          headers=admin)
    assert kept.json()["salesforce"]["secrets"]["password"]["source"] == "vault"
    assert web.client.get("/api/budget", headers=web.as_role(Role.VIEWER)).status_code == 200

    # The CLI (salesbridge sync -c file) loads the same config with the stored secrets.
    monkeypatch.setenv(DATABASE_VARIABLE, web.state.settings.database_url)
    monkeypatch.setenv(FERNET_KEY_VARIABLE, web.state.settings.fernet_keys[0])
    monkeypatch.setenv(SECRET_KEY_VARIABLE, web.state.settings.secret_key)
    environ = secret_environ(web.config_path)
    assert environ is not None
    config = load_config(web.config_path, environ=environ)
    assert config.connections.salesforce.client_secret.get_secret_value() == NEW_SECRET
    monkeypatch.setenv("SB_SECRET_SALESFORCE_PASSWORD", "from-the-environment")
    overridden = load_config(web.config_path, environ=secret_environ(web.config_path))
    assert overridden.connections.salesforce.password.get_secret_value() == "from-the-environment"
    assert web.client.get("/api/connections", headers=admin).json()["salesforce"]["secrets"]["password"] == \
        {"set": True, "source": "environment"}


def test_an_app_url_with_a_password_is_stored_in_the_vault(web: WebSetup) -> None:
    admin = web.as_role(Role.ADMIN)
    url = f"sqlite:///{web.tmp / 'app.db'}"
    plain = web.client.put("/api/connections/app", json={"url": url}, headers=admin)
    assert plain.status_code == 200 and plain.json()["app"]["url"] == url
    with_password = web.client.put("/api/connections/app",
                                   json={"url": "postgresql+psycopg://hub:s3cr3t-pw@db/x"},
                                   headers=admin)
    assert with_password.status_code == 200
    assert with_password.json()["app"]["url"] == "${SB_SECRET_APP_URL}"
    assert "s3cr3t-pw" not in web.config_path.read_text(encoding="utf-8")
    assert "s3cr3t-pw" not in web.client.get("/api/config", headers=admin).text


def test_connections_before_any_config_exists(tmp_path: Path) -> None:
    with web_setup(tmp_path) as web:
        admin = web.as_role(Role.ADMIN)
        assert web.client.get("/api/connections", headers=admin).json() == \
            {"configured": False, "salesforce": None, "app": None}
        assert web.client.get("/api/config", headers=admin).status_code == 404
        tested = web.client.post("/api/connections/salesforce/test", headers=admin).json()
        assert tested["ok"] is False and "no configuration file yet" in tested["message"]
        answer = web.client.put("/api/connections/salesforce", json={"login_url": "https://login.example",
                                                                     "client_id": "x", "client_secret": "y",
                                                                     "username": "u", "password": "p"},
                                headers=admin)
        assert answer.status_code == 422 and answer.json()["detail"]["key"] == "connections.app"
        with web.state.session() as session:
            assert list(session.scalars(select(StoredSecret))) == []
        assert not web.config_path.exists()


def test_a_whole_config_can_be_imported_into_an_empty_hub(tmp_path: Path, sandbox: RunningSandbox) -> None:
    with web_setup(tmp_path) as web:
        admin = web.as_role(Role.ADMIN)
        data = hub_config_data(sandbox, f"sqlite:///{tmp_path / 'app.db'}")
        answer = web.client.put("/api/config", json={"yaml": yaml.safe_dump(data)}, headers=admin)
        assert answer.status_code == 200, answer.text
        assert web.config_path.stat().st_mode & 0o777 == 0o600
        assert web.client.get("/api/health").json()["configured"] is True
