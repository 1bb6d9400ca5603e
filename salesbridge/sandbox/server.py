"""Running the sandbox: build an org, serve it over HTTPS, in the foreground (CLI) or in a thread (tests).

``build_org`` assembles the standard schema, custom objects from schema files, the record store and the seeded
users. ``start_in_thread`` serves it on a loopback port in a background thread and returns when the server
accepts connections; ``serve`` blocks (``salesbridge sandbox``).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import uvicorn

from salesbridge.salesforce.datetimes import format_datetime
from salesbridge.sandbox.app import create_app
from salesbridge.sandbox.org import DEFAULT_ADMIN, DEFAULT_PASSWORD, Org, OrgSettings, UserSettings
from salesbridge.sandbox.schema import Schema
from salesbridge.sandbox.schema.loader import load_schema_file
from salesbridge.sandbox.schema.standard import standard_schema
from salesbridge.sandbox.store import Store
from salesbridge.sandbox.tls import CertificatePaths, ensure_certificate

USER_KEY_PREFIX = "005"


def build_org(data: str | Path = ":memory:", schema_files: Iterable[str | Path] = (),
              settings: OrgSettings | None = None, *, schema: Schema | None = None) -> Org:
    """An org on the standard schema plus custom objects, with its users present as User records.

    ``schema`` replaces the standard schema (tests of the server itself use a small one).
    """
    schema = schema if schema is not None else standard_schema()
    for path in schema_files:
        load_schema_file(path, schema)
    if schema.get("User") is None:
        raise ValueError("the sandbox schema needs a User object: logins run as User records")
    org = Org(schema, Store(str(data)), settings or OrgSettings())
    seed_users(org)
    return org


def seed_users(org: Org) -> None:
    """Create a User record for every configured user that has none yet (matched by Username)."""
    user_def = org.schema.get("User")
    assert user_def is not None
    for user in org.settings.users:
        if org.user_record(user.username) is not None:
            continue
        stamp = format_datetime(org.clock.now())
        record_id = org.store.new_id(USER_KEY_PREFIX)
        record: dict[str, Any] = dict.fromkeys(user_def.fields)
        for name, value in _user_values(user).items():
            field_def = user_def.field(name)
            if field_def is not None:
                record[field_def.name] = value
        record.update({"Id": record_id, "IsDeleted": False, "CreatedDate": stamp, "CreatedById": record_id,
                       "LastModifiedDate": stamp, "LastModifiedById": record_id, "SystemModstamp": stamp})
        org.store.put(user_def.name, record)


def _user_values(user: UserSettings) -> dict[str, Any]:
    alias = (user.first_name[:1] + user.last_name)[:8].lower() or "user"
    return {
        "Username": user.username, "FirstName": user.first_name or None, "LastName": user.last_name,
        "Name": user.full_name, "Email": user.email, "Alias": alias, "IsActive": user.active,
        "CommunityNickname": user.username.split("@")[0], "TimeZoneSidKey": user.time_zone,
        "LocaleSidKey": user.locale, "LanguageLocaleKey": user.language, "EmailEncodingKey": "UTF-8",
        "UserType": "Standard",
    }


@dataclass
class RunningSandbox:
    """A sandbox served in a background thread. ``stop()`` ends the server and closes the store."""

    url: str
    ca_path: str
    org: Org
    port: int
    _server: uvicorn.Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    def http(self) -> requests.Session:
        """A requests session that trusts the sandbox's certificate.

        requests lets ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` override ``Session.verify`` (requests issue
        3829); the test fixtures unset them. Outside tests, pass ``verify=ca_path`` per request or unset them.
        """
        session = requests.Session()
        session.verify = self.ca_path
        return session

    def login(self, username: str = DEFAULT_ADMIN, password: str = DEFAULT_PASSWORD,
              client_id: str = "salesbridge", client_secret: str = "salesbridge-secret") -> tuple[str, str]:
        """``(instance_url, access_token)`` by the OAuth password grant."""
        response = self.http().post(f"{self.url}/services/oauth2/token", data={
            "grant_type": "password", "client_id": client_id, "client_secret": client_secret,
            "username": username, "password": password,
        }, verify=self.ca_path, timeout=30)
        response.raise_for_status()
        body = response.json()
        return body["instance_url"], body["access_token"]

    def stop(self) -> None:
        self._server.should_exit = True
        self._server.force_exit = True  # do not wait for idle keep-alive connections of clients
        self._thread.join(timeout=10)
        self.org.store.close()


def _listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto IPPROTO_TCP (not 0): asyncio sets TCP_NODELAY only on such sockets; without it every answer
    # written in two parts waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _uvicorn_config(org: Org, certificate: CertificatePaths | None) -> uvicorn.Config:
    return uvicorn.Config(
        create_app(org), log_level="warning", access_log=False, lifespan="off", loop="asyncio", http="h11",
        ws="none", timeout_graceful_shutdown=2,
        ssl_certfile=str(certificate.cert_path) if certificate else None,
        ssl_keyfile=str(certificate.key_path) if certificate else None,
    )


def _url(host: str, port: int, use_tls: bool) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"{'https' if use_tls else 'http'}://{shown}:{port}"


def start_in_thread(data: str | Path = ":memory:", schema_files: Iterable[str | Path] = (),
                    settings: OrgSettings | None = None, port: int = 0, tls: bool = True,
                    host: str = "127.0.0.1", *, schema: Schema | None = None) -> RunningSandbox:
    """Serve a new org in a daemon thread; returns once the server accepts connections."""
    org = build_org(data, schema_files, settings, schema=schema)
    return serve_org_in_thread(org, str(data), port=port, use_tls=tls, host=host)


def serve_org_in_thread(org: Org, data: str = ":memory:", *, port: int = 0, use_tls: bool = True,
                        host: str = "127.0.0.1") -> RunningSandbox:
    """Serve an existing org in a daemon thread (``data`` only locates the certificate)."""
    certificate = ensure_certificate(data, (host,)) if use_tls else None
    sock = _listening_socket(host, port)
    bound_port = sock.getsockname()[1]
    server = uvicorn.Server(_uvicorn_config(org, certificate))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"sandbox:{bound_port}",
                              daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():
            sock.close()
            raise RuntimeError("the sandbox server failed to start (see the log above)")
        time.sleep(0.002)
    return RunningSandbox(
        url=_url(host, bound_port, use_tls), ca_path=str(certificate.cert_path) if certificate else "",
        org=org, port=bound_port, _server=server, _thread=thread,
    )


def startup_banner(url: str, data: str, settings: OrgSettings, certificate: CertificatePaths | None) -> str:
    """What ``serve`` prints: where it listens, how to log in, how clients trust the certificate."""
    lines = [
        f"salesbridge sandbox serving {url}  (data: {data}, API v{settings.api_version})",
        f"  OAuth token endpoint: {url}/services/oauth2/token",
        f"  SOAP login:           {url}/services/Soap/u/{settings.api_version}",
    ]
    if certificate:
        lines += [
            f"  TLS certificate (self-signed, kept for the next start): {certificate.cert_path}",
            f"  trust it with: requests.Session().verify = '{certificate.cert_path}'",
            f"             or: export REQUESTS_CA_BUNDLE={certificate.cert_path}",
        ]
    lines.append(f"  users: {', '.join(u.username for u in settings.users)}")
    lines.append(f"  connected apps: {', '.join(a.client_id for a in settings.connected_apps)}")
    return "\n".join(lines)


def serve(port: int = 8787, data: str | Path = "sandbox.db", schema_files: Iterable[str | Path] = (),
          host: str = "127.0.0.1", tls: bool = True, config: str | Path | None = None) -> None:
    """Serve the sandbox in the foreground until interrupted (the ``salesbridge sandbox`` command)."""
    settings = OrgSettings.from_yaml(config) if config else OrgSettings()
    org = build_org(data, schema_files, settings)
    certificate = ensure_certificate(str(data), (host,)) if tls else None
    sock = _listening_socket(host, port)
    url = _url(host, sock.getsockname()[1], tls)
    print(startup_banner(url, str(data), settings, certificate), flush=True)
    try:
        uvicorn.Server(_uvicorn_config(org, certificate)).run(sockets=[sock])
    finally:
        org.store.close()

