"""A machine without Dovecot fails the mail tests with the command that installs it; it never skips them."""

from __future__ import annotations

import os
import shutil

import pytest
from dovecot_server import dovecot_binary


def test_a_missing_dovecot_binary_fails_with_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(pytest.fail.Exception) as failed:
        dovecot_binary()
    assert "apt-get install -y --no-install-recommends dovecot-imapd" in str(failed.value)
