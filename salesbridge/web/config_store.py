"""The configuration file as the web sees it: read, exported with secrets masked, validated, written back.

The YAML file is the source (``salesbridge sync -c file`` reads what the web wrote). The web writes it as a
whole: validated first with ``parse_config`` (errors name the key path), then replaced atomically, the
previous version kept as ``<file>.bak``. Comments in the file do not survive a web edit (PyYAML does not keep
them).

Secrets: an export shows ``${VARIABLE}`` references as they are (they are names, not values) and masks every
literal value under a secret-looking key (``password``, ``client_secret``, ``security_token``, ``private_key``
holding a PEM, ...) and passwords inside URLs. An import that sends a masked value back keeps the stored one,
so export -> edit -> import round-trips without ever showing a secret.
"""

from __future__ import annotations

import os
import re
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from salesbridge.sync.config import ConfigError, HubConfig, parse_config

MASK = "********"
_SECRET_KEY = re.compile(r"(password|secret|token|private_key|api_key|passphrase)$", re.IGNORECASE)
_PURE_REFERENCE = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*\}$")
_URL_PASSWORD = re.compile(r"^(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s]*:)(?P<password>[^@/\s]+)(?P<tail>@.*)$")


class ConfigMissing(LookupError):
    """There is no configuration file yet (the wizard or an import makes one)."""


@dataclass(frozen=True)
class FileVersion:
    """Identifies one state of the file, so that a cached Hub knows when to rebuild."""

    mtime_ns: int
    size: int


def is_secret_key(key: str) -> bool:
    return bool(_SECRET_KEY.search(key))


def _mask_value(key: str, value: Any) -> Any:
    if not isinstance(value, str) or not value or _PURE_REFERENCE.match(value):
        return value
    if is_secret_key(key):
        if key.lower() == "private_key" and "PRIVATE KEY" not in value:
            return value  # a path to the key file, not the key
        return MASK
    match = _URL_PASSWORD.match(value)
    if match and not _PURE_REFERENCE.match(match.group("password")):
        return f"{match.group('head')}{MASK}{match.group('tail')}"
    return value


def mask_secrets(data: Any, key: str = "") -> Any:
    """A copy of raw config data with every literal secret replaced by ``MASK``."""
    if isinstance(data, dict):
        return {k: mask_secrets(v, str(k)) for k, v in data.items()}
    if isinstance(data, list):
        return [mask_secrets(item, key) for item in data]
    return _mask_value(key, data)


def unmask(incoming: Any, current: Any, key: str = "") -> Any:
    """``incoming`` with each value that equals the masked form of the current value at the same place put
    back to the current value: what an admin sends back unchanged from an export stays as it was."""
    if isinstance(incoming, dict):
        current_map = current if isinstance(current, dict) else {}
        return {k: unmask(v, current_map.get(k), str(k)) for k, v in incoming.items()}
    if isinstance(incoming, list):
        current_list = current if isinstance(current, list) else []
        return [unmask(item, current_list[i] if i < len(current_list) else None, key)
                for i, item in enumerate(incoming)]
    if isinstance(incoming, str) and MASK in incoming and current is not None \
            and incoming == _mask_value(key, current):
        return current
    return incoming


def contains_mask(data: Any) -> str | None:
    """The key path of a value still holding ``MASK`` (sent back for a place that has no secret), or None."""
    if isinstance(data, dict):
        for k, v in data.items():
            found = contains_mask(v)
            if found is not None:
                return f"{k}.{found}" if found else str(k)
    elif isinstance(data, list):
        for i, item in enumerate(data):
            found = contains_mask(item)
            if found is not None:
                return f"[{i}].{found}" if found else f"[{i}]"
    elif isinstance(data, str) and MASK in data:
        return ""
    return None


def parse_yaml_text(text: str, source: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        raise ConfigError(source, "",
                          f"not valid YAML ({where}): {getattr(error, 'problem', error)}") from None


def dump_yaml(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)


class ConfigStore:
    """One YAML configuration file; ``environ`` gives the variables it is loaded with (environment, vault)."""

    def __init__(self, path: Path, environ: Callable[[], Mapping[str, str]]) -> None:
        self.path = path
        self._environ = environ
        self._write_lock = threading.Lock()

    def exists(self) -> bool:
        return self.path.is_file()

    def version(self) -> FileVersion | None:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return None
        return FileVersion(stat.st_mtime_ns, stat.st_size)

    def read_raw(self) -> dict[str, Any]:
        """The file's data as written (``${...}`` references not substituted)."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigMissing(f"{self.path}: no configuration file yet") from None
        data = parse_yaml_text(text, str(self.path))
        if not isinstance(data, dict):
            raise ConfigError(self.path, "", "expected a mapping with 'connections' and 'flows'")
        return data

    def load(self) -> HubConfig:
        return self.validate(self.read_raw())

    def validate(self, data: Any, environ: Mapping[str, str] | None = None) -> HubConfig:
        """Validate raw data as the file would hold it; raises ConfigError (file, key path, expected).

        ``environ``: the variables to load it with, when not the current ones (secrets about to be stored).
        """
        return parse_config(data, self.path, dict(self._environ() if environ is None else environ))

    def export_yaml(self) -> str:
        return dump_yaml(mask_secrets(self.read_raw()))

    def merge_masked(self, data: Any) -> Any:
        """Put back the stored secrets an export masked; refuses a mask that has nothing to stand for."""
        current = self.read_raw() if self.exists() else {}
        merged = unmask(data, current)
        leftover = contains_mask(merged)
        if leftover is not None:
            raise ConfigError(self.path, leftover, f"'{MASK}' stands for a stored secret, but there is none "
                                                   "here: write the value or a ${VARIABLE} reference")
        return merged

    def import_yaml(self, text: str) -> HubConfig:
        """Replace the configuration with YAML text (an edited export): validated, then written."""
        return self.save(parse_yaml_text(text, str(self.path)))

    def save(self, data: Any, environ: Mapping[str, str] | None = None) -> HubConfig:
        """Validate raw data (masked secrets restored) and write it atomically; returns the new config."""
        with self._write_lock:
            merged = self.merge_masked(data)
            config = self.validate(merged, environ)
            self._write(dump_yaml(merged))
            return config

    def edit(self, change: Callable[[dict[str, Any]], None],
             environ: Mapping[str, str] | None = None) -> HubConfig:
        """Read the raw data, let ``change`` modify it in place, then validate and write it."""
        with self._write_lock:
            data = self.read_raw() if self.exists() else {}
            change(data)
            config = self.validate(data, environ)
            self._write(dump_yaml(data))
            return config

    def _write(self, text: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            backup = self.path.with_name(self.path.name + ".bak")
            backup.write_bytes(self.path.read_bytes())
            os.chmod(backup, self.path.stat().st_mode & 0o777)
        descriptor, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(text)
            if self.path.exists():
                os.chmod(temporary, self.path.stat().st_mode & 0o777)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def mask_url(url: str) -> str:
    """A database URL with its password masked (for showing a connection)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return _mask_value("url", url)
    if parsed.password and not _PURE_REFERENCE.match(str(parsed.password)):
        return parsed.render_as_string(hide_password=True).replace("***", MASK, 1)
    return url
