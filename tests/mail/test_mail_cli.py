"""``salesbridge mail sync`` over Dovecot and the sandbox, and the mail flow's errors beside table flows."""

from __future__ import annotations

from pathlib import Path

import yaml
from dovecot_server import DovecotServer, MailUser
from mail_helpers import FOLDER, MailClient, make_message
from typer.testing import CliRunner

from salesbridge.cli import app
from salesbridge.salesforce import SalesforceClient
from salesbridge.sandbox.server import RunningSandbox

runner = CliRunner()


def write_config(
    tmp_path: Path, org: RunningSandbox, dovecot: DovecotServer, user: MailUser, **mail: object
) -> Path:
    path = tmp_path / "salesbridge.yaml"
    path.write_text(
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
                "mail": {
                    "imap": {
                        "host": "127.0.0.1",
                        "port": dovecot.port,
                        "username": user.username,
                        "password": "${IMAP_PASSWORD}",
                        "ssl": False,
                    },
                    **mail,
                },
            }
        )
    )
    return path


def invoke(*args: object, password: str) -> object:
    return runner.invoke(app, [str(arg) for arg in args], env={"IMAP_PASSWORD": password, "COLUMNS": "200"})


def test_mail_sync_prints_what_it_saved_and_reports_problems(
    tmp_path: Path,
    org: RunningSandbox,
    dovecot: DovecotServer,
    mail_user: MailUser,
    mail_client: MailClient,
    sf_client: SalesforceClient,
) -> None:
    sf_client.create("Contact", [{"LastName": "Ode", "Email": "ode@cli.example"}])
    mail_client.create_folder(FOLDER)
    mail_client.append(
        FOLDER, make_message("ode@cli.example", mail_user.username, "CLI", message_id="<cli@1>")
    )
    mail_client.append(
        FOLDER, make_message("stranger@cli.example", mail_user.username, "?", message_id="<cli@2>")
    )
    config = write_config(tmp_path, org, dovecot, mail_user, unmatched="error")

    result = invoke("mail", "sync", "-c", config, password=mail_user.password)
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "mail run 1: partial" in output
    assert "saved │ 1" in output
    assert "<cli@2> (Salesforce Emails #2): NO_MATCHING_RECORD" in output

    listed = invoke("errors", "-c", config, password=mail_user.password)
    assert "NO_MATCHING_RECORD" in listed.output
    retried = invoke(
        "retry", "-c", config, password=mail_user.password
    )  # not a table flow: left to mail sync
    assert retried.exit_code == 0, retried.output


def test_mail_sync_fails_with_exit_1_when_the_mailbox_refuses_the_login(
    tmp_path: Path, org: RunningSandbox, dovecot: DovecotServer, mail_user: MailUser
) -> None:
    config = write_config(tmp_path, org, dovecot, mail_user)
    result = invoke("mail", "sync", "-c", config, password="wrong")
    assert result.exit_code == 1
    assert "IMAP login refused" in result.output


def test_mail_sync_without_a_mail_section_is_a_configuration_error(
    tmp_path: Path, org: RunningSandbox, dovecot: DovecotServer, mail_user: MailUser
) -> None:
    config = write_config(tmp_path, org, dovecot, mail_user)
    data = yaml.safe_load(config.read_text())
    del data["mail"]
    config.write_text(yaml.safe_dump(data))
    result = invoke("mail", "sync", "-c", config, password="x")
    assert result.exit_code == 2
    assert "no 'mail' section" in result.output
