"""A private Dovecot IMAP server for the tests: Debian's ``dovecot`` binary, our own config in a temp dir.

Nothing of the system's Dovecot is used (no /etc/dovecot, no system service): the server listens on a free
loopback port, keeps mail as maildirs in the temp dir and lets in any user name with the server's one password
(a static passdb), so that each test logs in as a fresh user with an empty mailbox. A missing binary fails the
tests with the command that installs it; it never skips them."""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

INSTALL_HINT = (
    "install it with `DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "
    "dovecot-imapd` (./scripts/test does this when it is missing)"
)
#: How long to wait for a just-started server to accept connections before the test fails (not an assertion
#: on timing: the tests only start once it answers).
START_TIMEOUT = 30.0


def dovecot_binary() -> str:
    found = shutil.which("dovecot") or next(
        (path for path in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot") if os.access(path, os.X_OK)), None
    )
    if found is None:
        pytest.fail(
            f"the mail tests need Dovecot and no `dovecot` binary was found: {INSTALL_HINT}", pytrace=False
        )
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class MailUser:
    username: str
    password: str


class DovecotServer:
    """One running Dovecot; ``add_user()`` makes a new mailbox owner."""

    def __init__(self, workdir: Path) -> None:
        """``workdir`` must be reachable by Dovecot's own users when running as root: a fresh directory of
        the system temp dir (``tempfile.mkdtemp``) is; pytest's per-user ``tmp_path`` (mode 0700) is not."""
        self.workdir = workdir
        self.port = free_port()
        self.password = uuid.uuid4().hex
        self.config_file = workdir / "dovecot.conf"
        self.log_file = workdir / "dovecot.log"
        self._process: subprocess.Popen[bytes] | None = None

    def _identity(self) -> tuple[str, int, int]:
        """Who owns mail: as root, Dovecot's own ``dovecot`` user (mail is never accessed as root); else
        us."""
        entry = pwd.getpwnam("dovecot") if os.geteuid() == 0 else pwd.getpwuid(os.geteuid())
        return entry.pw_name, entry.pw_uid, entry.pw_gid

    def write_config(self) -> None:
        user, uid, gid = self._identity()
        mail_root = self.workdir / "mail"
        mail_root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:  # Dovecot's unprivileged processes reach the mail, which its user owns
            self.workdir.chmod(0o711)
            os.chown(mail_root, uid, gid)
        internal = (
            "" if os.geteuid() == 0 else f"default_internal_user = {user}\ndefault_login_user = {user}\n"
        )
        self.config_file.write_text(f"""\
protocols = imap
listen = 127.0.0.1
base_dir = {self.workdir}/run
state_dir = {self.workdir}/state
instance_name = salesbridge-test-{self.port}
log_path = {self.log_file}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{mail_root}/%u
first_valid_uid = {min(uid, 500)}
first_valid_gid = {min(gid, 500)}
{internal}passdb {{
  driver = static
  args = password={self.password}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={mail_root}/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Sent {{
    special_use = \\Sent
    auto = create
  }}
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
""")

    def start(self) -> None:
        binary = dovecot_binary()
        self.write_config()
        self._process = subprocess.Popen(
            [binary, "-F", "-c", str(self.config_file)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                output = self._process.stdout.read().decode(errors="replace") if self._process.stdout else ""
                pytest.fail(f"Dovecot did not start: {output}\n{self._log()}", pytrace=False)
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as probe:
                    if probe.recv(200).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.1)
        self.stop()
        pytest.fail(f"Dovecot did not answer on port {self.port}: {self._log()}", pytrace=False)

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stdout:
            self._process.stdout.close()
        self._process = None

    def add_user(self) -> MailUser:
        return MailUser(f"user-{uuid.uuid4().hex[:10]}@example.org", self.password)

    def _log(self) -> str:
        return self.log_file.read_text(errors="replace")[-3000:] if self.log_file.exists() else "(no log)"
