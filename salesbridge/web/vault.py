"""Connection secrets stored encrypted (Fernet) in the web database, and handed to the config as variables.

The YAML file refers to a stored secret the way it refers to any secret, ``${SB_SECRET_SALESFORCE_PASSWORD}``;
loading the config then takes that variable from the vault when the process environment does not set it. So
the file never holds a secret the web was given, the CLI (``secret_environ``) and the web read the same
values, and an operator can still override any of them from the environment.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import delete, inspect, select
from sqlalchemy.orm import Session

from salesbridge.store.db import open_store
from salesbridge.store.web_models import StoredSecret
from salesbridge.web.settings import (
    KeysUnavailable,
    config_path_from,
    database_url_for,
    read_keys,
    sqlite_file,
)

log = logging.getLogger(__name__)

#: Variables that name stored secrets start with this.
SECRET_VARIABLE_PREFIX = "SB_SECRET_"
_NAME = re.compile(r"^SB_SECRET_[A-Z0-9_]{1,80}$")


class SecretBox:
    """Fernet encryption with key rotation: the first key encrypts, every key decrypts."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("SecretBox needs at least one Fernet key")
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    def encrypt(self, value: str) -> str:
        return self._fernet.encrypt(value.encode("utf-8")).decode("ascii")

    def decrypt(self, ciphertext: str) -> str:
        """The clear text; raises ``InvalidToken`` when no key opens it (the key was lost or changed)."""
        return self._fernet.decrypt(ciphertext.encode("ascii")).decode("utf-8")


def variable_name(name: str) -> str:
    """``salesforce.client_secret`` -> ``SB_SECRET_SALESFORCE_CLIENT_SECRET``."""
    variable = SECRET_VARIABLE_PREFIX + re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").upper()
    if not _NAME.match(variable):
        raise ValueError(f"not a usable secret name: {name!r}")
    return variable


def put_secret(session: Session, box: SecretBox, variable: str, value: str, by: str | None) -> None:
    if not _NAME.match(variable):
        raise ValueError(f"secret variables are named {SECRET_VARIABLE_PREFIX}<NAME>: {variable!r}")
    row = session.get(StoredSecret, variable)
    if row is None:
        row = StoredSecret(name=variable, ciphertext="")
        session.add(row)
    row.ciphertext = box.encrypt(value)
    row.updated_by = by
    session.flush()


def delete_secret(session: Session, variable: str) -> None:
    session.execute(delete(StoredSecret).where(StoredSecret.name == variable))


def stored_names(session: Session) -> set[str]:
    return set(session.scalars(select(StoredSecret.name)))


def load_secrets(session: Session, box: SecretBox) -> dict[str, str]:
    """Every stored secret as ``{variable: value}``; one no key opens is left out (and logged by name)."""
    values: dict[str, str] = {}
    for row in session.scalars(select(StoredSecret)):
        try:
            values[row.name] = box.decrypt(row.ciphertext)
        except InvalidToken:
            log.error("stored secret %s cannot be decrypted with the current %s", row.name, "Fernet key(s)")
    return values


def config_environ(stored: Mapping[str, str], environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables a config is loaded with: stored secrets, overridden by the process environment."""
    return {**stored, **(os.environ if environ is None else environ)}


def secret_environ(config_path: str | os.PathLike[str] | None = None, database_url: str | None = None,
                   environ: Mapping[str, str] | None = None) -> dict[str, str] | None:
    """For the CLI: the environment plus the web's stored secrets, when there is a web database and its keys.

    Returns None (load the config with the plain environment) when there is no web database: a hub managed
    only from the command line never needs one, and this never creates it.
    """
    env = os.environ if environ is None else environ
    path = config_path_from(config_path, env)
    if not config_file_mentions_secrets(path):
        return None
    url = database_url_for(path, database_url, env)
    db_file = sqlite_file(url)
    if db_file is not None and not db_file.exists():
        return None
    try:
        _secret_key, fernet_keys = read_keys(path, url, generate=False, environ=env)
    except KeysUnavailable:
        return None
    engine = open_store(url)
    try:
        if "sb_secrets" not in inspect(engine).get_table_names():
            return None
        with Session(engine) as session:
            return config_environ(load_secrets(session, SecretBox(fernet_keys)), env)
    finally:
        engine.dispose()


def config_file_mentions_secrets(path: Path) -> bool:
    """Cheap check before opening a database: does the file refer to any stored secret at all?"""
    try:
        return SECRET_VARIABLE_PREFIX in path.read_text(encoding="utf-8")
    except OSError:
        return False
