"""``salesbridge contacts sync`` over Radicale and the sandbox."""

from __future__ import annotations

from pathlib import Path

import yaml
from contacts_helpers import BOOK, AddressBookUser, vcard
from typer.testing import CliRunner

from salesbridge.cli import app
from salesbridge.salesforce import SalesforceClient
from salesbridge.sandbox.server import RunningSandbox


def test_contacts_sync_prints_what_it_did_and_fails_on_a_refused_login(
    tmp_path: Path, org: RunningSandbox, person: AddressBookUser, sf_client: SalesforceClient
) -> None:
    sf_client.create("Account", [{"Name": "Acme"}])
    book = person.make_book("sf", BOOK)
    person.put(book, "ann.vcf", vcard("ann-1", "Archer", "Ann", email="ann@acme.example", org="Acme"))
    config = tmp_path / "salesbridge.yaml"
    config.write_text(
        yaml.safe_dump(
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
                    "app": {"url": f"sqlite:///{tmp_path / 'hub.db'}"},
                },
                "contacts": {
                    "carddav": {
                        "url": person.server.url,
                        "username": person.user.username,
                        "password": "${DAV_PASSWORD}",
                    }
                },
            }
        )
    )
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["contacts", "sync", "-c", str(config)],
        env={"DAV_PASSWORD": person.user.password, "COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "contacts run 1: succeeded" in output and "created in salesforce │ 1" in output
    assert [c["LastName"] for c in sf_client.query_all("SELECT LastName FROM Contact")] == ["Archer"]

    refused = runner.invoke(app, ["contacts", "sync", "-c", str(config)], env={"DAV_PASSWORD": "wrong"})
    assert refused.exit_code == 1
    assert "answered 401" in " ".join(refused.output.split())
