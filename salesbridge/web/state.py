"""What one running web app holds: its settings, the web database, the config file, the vault, the Hub.

The Hub is built from the config file on first use and rebuilt when the file changes (an import, the wizard,
or someone editing it by hand); without a valid config, the endpoints that need it answer 503 with the config
error, while accounts, the config import and the connections still work. Interactive reads of Salesforce
(budget, record view, test login) use a client of their own, so that they never count towards a run's calls.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from salesbridge.salesforce import RetryPolicy, SalesforceClient
from salesbridge.store.db import migrate, open_store
from salesbridge.sync.config import ConfigError, HubConfig, SalesforceConnection
from salesbridge.sync.connect import login_settings
from salesbridge.sync.runs import Hub
from salesbridge.web.background import RunManager
from salesbridge.web.config_store import ConfigMissing, ConfigStore, FileVersion
from salesbridge.web.settings import WebSettings
from salesbridge.web.throttle import LoginThrottle
from salesbridge.web.vault import SecretBox, config_environ, load_secrets

log = logging.getLogger(__name__)


class HubUnavailable(RuntimeError):
    """The hub cannot be built: no config yet, an invalid one, or its app database is not usable."""


@dataclass
class _Built:
    version: FileVersion | None
    secrets_version: int
    hub: Hub
    reader: SalesforceClient


class WebState:
    """Shared by every request of one app (``app.state.web``)."""

    def __init__(self, settings: WebSettings, engine: Engine | None = None) -> None:
        self.settings = settings
        self.engine = engine or open_store(settings.database_url)
        migrate(self.engine)
        self.box = SecretBox(settings.fernet_keys)
        self.config = ConfigStore(settings.config_path, self.environ)
        self.runs = RunManager()
        self.login_throttle = LoginThrottle()
        self._built: _Built | None = None
        self._hub_lock = threading.Lock()
        self._reader_lock = threading.Lock()
        self._secrets_version = 0

    # -- database and secrets --------------------------------------------------------------------------------

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A web-database transaction: committed at the end of the block, rolled back if it raises."""
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    def environ(self) -> dict[str, str]:
        """Variables the config is loaded with: stored secrets, overridden by the process environment."""
        with Session(self.engine) as session:
            return config_environ(load_secrets(session, self.box))

    def secrets_changed(self) -> None:
        """Stored secrets changed: the next ``hub()`` rebuilds with them."""
        self._secrets_version += 1

    # -- the hub ---------------------------------------------------------------------------------------------

    def hub_config(self) -> HubConfig:
        try:
            return self.config.load()
        except (ConfigMissing, ConfigError) as error:
            raise HubUnavailable(str(error)) from None

    def hub(self) -> Hub:
        """The Hub of the current config (rebuilt when the file or the stored secrets changed)."""
        return self._current().hub

    @contextmanager
    def reader(self) -> Iterator[SalesforceClient]:
        """The interactive Salesforce client, one request at a time."""
        built = self._current()
        with self._reader_lock:
            yield built.reader

    def _current(self) -> _Built:
        with self._hub_lock:
            version = self.config.version()
            built = self._built
            wanted = (version, self._secrets_version)
            if built is not None and (built.version, built.secrets_version) == wanted:
                return built
            config = self.hub_config()
            try:
                hub = Hub(config)
            except ConfigError as error:
                raise HubUnavailable(str(error)) from None
            except Exception as error:  # the app database is unreachable, a table is missing...
                log.warning("cannot build the hub: %s", error)
                raise HubUnavailable(f"cannot open the hub: {type(error).__name__}: {error}") from None
            self._built = _Built(version, self._secrets_version, hub,
                                 interactive_client(config.connections.salesforce))
            if built is not None and self.runs.active is None:
                _close(built)
            return self._built

    def close(self) -> None:
        self.runs.wait(timeout=30)
        if self._built is not None:
            _close(self._built)
            self._built = None
        self.engine.dispose()


#: A person is waiting: fail within seconds rather than retry for a minute.
INTERACTIVE_TIMEOUT_SECONDS = 20.0
INTERACTIVE_RETRY = RetryPolicy(attempts=2, base_delay=0.2, max_delay=1.0)


def interactive_client(connection: SalesforceConnection) -> SalesforceClient:
    """A client for requests a person waits on (budget, record view, test login): short timeout, one retry."""
    settings = replace(login_settings(connection), timeout=INTERACTIVE_TIMEOUT_SECONDS)
    return SalesforceClient(settings, api_version=connection.api_version, retry=INTERACTIVE_RETRY)


def _close(built: _Built) -> None:
    for closing in (built.hub.client.close, built.reader.close, built.hub.engine.dispose):
        try:
            closing()
        except Exception:  # closing what is being replaced must never fail the request
            log.debug("closing a replaced hub failed", exc_info=True)
