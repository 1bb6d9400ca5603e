"""Settings of the web app: where the config and the web database are, and the keys.

The YAML file stays the source of the hub's configuration (so that ``salesbridge sync -c file`` keeps working
and reads exactly what the web wrote); the web database holds what the file must not: accounts, sessions, API
tokens and connection secrets, encrypted. Its default is ``salesbridge-web.db`` beside the config file.

Two keys: ``SALESBRIDGE_SECRET_KEY`` (signs CSRF tokens) and ``SALESBRIDGE_FERNET_KEY`` (encrypts stored
secrets; several keys separated by commas rotate: the first encrypts, all decrypt). When ``serve`` finds them
unset it makes them once and keeps them in a key file beside the database (mode 0600), and logs where.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url

from salesbridge.sync.config import DEFAULT_CONFIG_PATH

log = logging.getLogger(__name__)

SECRET_KEY_VARIABLE = "SALESBRIDGE_SECRET_KEY"
FERNET_KEY_VARIABLE = "SALESBRIDGE_FERNET_KEY"
DATABASE_VARIABLE = "SALESBRIDGE_WEB_DATABASE"
WEB_DATABASE_FILE = "salesbridge-web.db"


class KeysUnavailable(RuntimeError):
    """Keys are missing (and may not be generated here) or unreadable."""


@dataclass(frozen=True)
class WebSettings:
    """Everything ``create_web_app`` needs; build it with :func:`resolve_settings` or directly in tests."""

    config_path: Path
    database_url: str
    secret_key: str
    fernet_keys: tuple[str, ...]
    session_ttl: timedelta = timedelta(hours=12)
    #: Send the session cookie only over HTTPS; turn on when serving behind TLS.
    cookie_secure: bool = False


def config_path_from(path: str | os.PathLike[str] | None, environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    return Path(path or env.get("SALESBRIDGE_CONFIG", DEFAULT_CONFIG_PATH))


def database_url_for(config_path: Path, database_url: str | None = None,
                     environ: Mapping[str, str] | None = None) -> str:
    """The web database: given, else ``$SALESBRIDGE_WEB_DATABASE``, else a SQLite file beside the config."""
    env = os.environ if environ is None else environ
    if database_url:
        return database_url
    if env.get(DATABASE_VARIABLE):
        return env[DATABASE_VARIABLE]
    return f"sqlite:///{config_path.resolve().parent / WEB_DATABASE_FILE}"


def sqlite_file(database_url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases and in-memory SQLite)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def key_file_for(config_path: Path, database_url: str) -> Path:
    """``<database file>.keys`` for SQLite; beside the config file for a database server."""
    db_file = sqlite_file(database_url)
    if db_file is not None:
        return db_file.with_name(db_file.name + ".keys")
    return config_path.resolve().parent / f"{WEB_DATABASE_FILE}.keys"


def read_keys(config_path: Path, database_url: str, *, generate: bool,
              environ: Mapping[str, str] | None = None) -> tuple[str, tuple[str, ...]]:
    """``(secret_key, fernet_keys)`` from the environment, else the key file, else (if ``generate``) new ones
    written to the key file with mode 0600."""
    env = os.environ if environ is None else environ
    secret_key = env.get(SECRET_KEY_VARIABLE, "")
    fernet_text = env.get(FERNET_KEY_VARIABLE, "")
    if not (secret_key and fernet_text):
        stored = _read_key_file(key_file_for(config_path, database_url), generate)
        secret_key = secret_key or stored.get("secret_key", "")
        fernet_text = fernet_text or stored.get("fernet_key", "")
    if not (secret_key and fernet_text):
        raise KeysUnavailable(f"no keys: set {SECRET_KEY_VARIABLE} and {FERNET_KEY_VARIABLE}")
    fernet_keys = tuple(key.strip() for key in fernet_text.split(",") if key.strip())
    for key in fernet_keys:
        try:
            Fernet(key)
        except ValueError:
            raise KeysUnavailable(
                f"{FERNET_KEY_VARIABLE}: not a Fernet key (32 url-safe base64-encoded bytes)") from None
    return secret_key, fernet_keys


def _read_key_file(path: Path, generate: bool) -> dict[str, str]:
    if path.exists():
        if path.stat().st_mode & 0o077:
            log.warning("key file %s is readable by others: chmod 600 it", path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise KeysUnavailable(f"cannot read key file {path}: {error}") from None
        return {key: str(value) for key, value in data.items()} if isinstance(data, dict) else {}
    if not generate:
        return {}
    keys = {"secret_key": secrets.token_urlsafe(48), "fernet_key": Fernet.generate_key().decode("ascii")}
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(keys, handle)
    log.warning("generated the web keys and stored them in %s (mode 0600); keep it with the database, or set "
                "%s and %s instead", path, SECRET_KEY_VARIABLE, FERNET_KEY_VARIABLE)
    return keys


def resolve_settings(config_path: str | os.PathLike[str] | None = None, database_url: str | None = None, *,
                     generate_keys: bool = True, cookie_secure: bool = False,
                     environ: Mapping[str, str] | None = None) -> WebSettings:
    """Settings for ``salesbridge serve``: paths from the arguments or the environment, keys as described
    above."""
    path = config_path_from(config_path, environ)
    url = database_url_for(path, database_url, environ)
    secret_key, fernet_keys = read_keys(path, url, generate=generate_keys, environ=environ)
    return WebSettings(config_path=path, database_url=url, secret_key=secret_key, fernet_keys=fernet_keys,
                       cookie_secure=cookie_secure)
