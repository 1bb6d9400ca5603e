"""A private Radicale CardDAV server for the tests (Radicale from PyPI, run as a child process).

It listens on a free loopback port, keeps its collections in a temp dir and checks passwords against an
htpasswd file there (plain text: these are throw-away test accounts), so each test can log in as a fresh
user with an empty address book home.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

#: How long to wait for the just-started server to answer before failing (a readiness wait, not an assertion).
START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class DavUser:
    username: str
    password: str


class RadicaleServer:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.users_file = workdir / "users"
        self.log_file = workdir / "radicale.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.users_file.touch()
        command = [
            sys.executable,
            "-m",
            "radicale",
            "--server-hosts",
            f"127.0.0.1:{self.port}",
            "--storage-filesystem-folder",
            str(self.workdir / "collections"),
            "--auth-type",
            "htpasswd",
            "--auth-htpasswd-filename",
            str(self.users_file),
            "--auth-htpasswd-encryption",
            "plain",
            "--no-auth-htpasswd-cache",
            "--rights-type",
            "owner_only",
            "--logging-level",
            "warning",
        ]
        with self.log_file.open("wb") as log:
            self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                pytest.fail(
                    f"Radicale did not start: {self.log_file.read_text(errors='replace')}", pytrace=False
                )
            try:
                requests.get(self.url, timeout=1)
                return
            except requests.ConnectionError:
                time.sleep(0.1)
        self.stop()
        pytest.fail(f"Radicale did not answer on port {self.port}", pytrace=False)

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def add_user(self) -> DavUser:
        user = DavUser(f"user{uuid.uuid4().hex[:10]}", uuid.uuid4().hex)
        with self.users_file.open("a") as users:
            users.write(f"{user.username}:{user.password}\n")
        return user
