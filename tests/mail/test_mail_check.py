"""``salesbridge check`` with a ``mail`` section, against the test Dovecot: the login, the Salesforce folder
(there, or creatable without being left behind), the folders searched for tags and the Task owner."""

from __future__ import annotations

from pathlib import Path

import yaml
from dovecot_server import DovecotServer, MailUser, free_port
from mail_helpers import FOLDER, MailClient, mail_config
from typer.testing import CliRunner

from salesbridge.cli import app
from salesbridge.sandbox.server import RunningSandbox
from salesbridge.sync.check import check_hub

WRONG = "not-the-password-4711"


def check(config) -> tuple[list[str], list[str]]:  # noqa: ANN001 - HubConfig
    """(problems, lines reported as fine)."""
    fine: list[str] = []
    return check_hub(config, report=fine.append), fine


def folder_names(client: MailClient) -> list[str]:
    _, data = client.conn.list()
    return [line.decode().rsplit(" ", 1)[-1].strip('"') for line in data if line]


def test_a_good_mailbox_passes_and_the_missing_folder_is_only_probed(
    tmp_path: Path, org: RunningSandbox, dovecot: DovecotServer, mail_user: MailUser, mail_client: MailClient
) -> None:
    config = mail_config(org, f"sqlite:///{tmp_path / 'hub.db'}", dovecot, mail_user)

    problems, fine = check(config)

    assert problems == []
    assert f"mail.imap: logged in to 127.0.0.1:{dovecot.port} as {mail_user.username}" in fine
    assert f"mail.folder: '{FOLDER}' does not exist yet; it can be created, and the first mail sync creates it" \
        in fine
    assert FOLDER not in folder_names(mail_client), "the check leaves the mailbox as it found it"

    mail_client.create_folder(FOLDER)
    problems, fine = check(config)
    assert problems == [] and f"mail.folder: '{FOLDER}' exists" in fine


def test_a_wrong_password_is_reported_with_the_server_and_the_user(
    tmp_path: Path, org: RunningSandbox, dovecot: DovecotServer, mail_user: MailUser
) -> None:
    config = mail_config(org, f"sqlite:///{tmp_path / 'hub.db'}", dovecot, MailUser(mail_user.username, WRONG))

    problems, _ = check(config)

    assert len(problems) == 1
    assert problems[0].startswith(f"mail.imap: cannot log in to 127.0.0.1:{dovecot.port} as {mail_user.username}: ")
    assert WRONG not in problems[0], "the password is never shown"


def test_an_unreachable_server_unknown_search_folders_and_owner_are_reported(
    tmp_path: Path, org: RunningSandbox, dovecot: DovecotServer, mail_user: MailUser
) -> None:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    closed = mail_config(org, url, dovecot, mail_user)
    closed.mail.imap.port = free_port()  # nothing listens there
    problems, _ = check(closed)
    assert len(problems) == 1
    assert problems[0].startswith(f"mail.imap: cannot connect to IMAP server 127.0.0.1:{closed.mail.imap.port}: ")

    wrong_names = mail_config(org, url, dovecot, mail_user, search_folders=["INBOX", "Archive"],
                              owner="nobody@sandbox.example")
    problems, _ = check(wrong_names)
    assert problems == [
        "mail.search_folders[1]: the mailbox has no folder 'Archive' (folders: INBOX, Sent)",
        "mail.owner: no active Salesforce user with username or email 'nobody@sandbox.example'",
    ]


def test_the_check_command_prints_the_problem_and_exits_1(
    tmp_path: Path, org: RunningSandbox, dovecot: DovecotServer, mail_user: MailUser
) -> None:
    path = tmp_path / "salesbridge.yaml"
    path.write_text(yaml.safe_dump({
        "connections": {
            "salesforce": {"login_url": org.url, "client_id": "salesbridge", "client_secret": "salesbridge-secret",
                           "username": "admin@sandbox.example", "password": "sandbox-pass",
                           "verify": str(org.ca_path)},
            "app": {"url": f"sqlite:///{tmp_path / 'hub.db'}"},
        },
        "mail": {"imap": {"host": "127.0.0.1", "port": dovecot.port, "username": mail_user.username,
                          "password": "${IMAP_PASSWORD}", "ssl": False}},
    }))
    runner = CliRunner()

    good = runner.invoke(app, ["check", "-c", str(path)], env={"IMAP_PASSWORD": mail_user.password,
                                                               "COLUMNS": "250"})
    assert good.exit_code == 0, good.output
    assert "configuration and connections are fine" in good.output

    bad = runner.invoke(app, ["check", "-c", str(path)], env={"IMAP_PASSWORD": "wrong", "COLUMNS": "250"})
    assert bad.exit_code == 1
    assert f"problem mail.imap: cannot log in to 127.0.0.1:{dovecot.port} as {mail_user.username}" in \
        " ".join(bad.output.split())
