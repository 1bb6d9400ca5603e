"""Lookup fields mapped through links: ``reference: <flow>`` and ``user: true`` (see FieldMap).

The Mapper stays free of I/O: it asks a :class:`Lookups`, which the engine primes once per batch (one local
query per referenced flow, one User query per 100 names or Ids), so that mapping a thousand records costs no
more Salesforce calls than mapping one. A value missed by priming is looked up alone.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from salesbridge.salesforce import SalesforceClient
from salesbridge.salesforce.soql import quote
from salesbridge.store import repository as repo
from salesbridge.sync.config import FieldMap

#: The error of a record whose lookup names a row or record the other side does not have yet; an ordinary run
#: tries the record again (its referenced record may have been synced since).
UNLINKED_REFERENCE = "UNLINKED_REFERENCE"
UNKNOWN_USER = "UNKNOWN_USER"
USER_BATCH = 100


class UserDirectory:
    """Users found in earlier runs of one hub (name -> Id, Id -> Email), kept for ``ttl_seconds``.

    A quiet poll re-reads the records of its overlap window; without this, each such poll would ask Salesforce
    again for the owners it asked about a minute ago. Only users found are kept: a user not found is asked for
    again by the next run (it may have been created since).
    """

    def __init__(self, ttl_seconds: float = 3600.0) -> None:
        self.ttl_seconds = ttl_seconds
        self.ids: dict[str, str] = {}
        self.emails: dict[str, str | None] = {}
        self._since = time.monotonic()

    def fresh(self) -> UserDirectory:
        """Itself, emptied first when its entries are older than the TTL (emails and usernames can change)."""
        if time.monotonic() - self._since > self.ttl_seconds:
            self.ids, self.emails, self._since = {}, {}, time.monotonic()
        return self


class Lookups:
    """Answers lookups for the mappers of one run, caching every answer (both ways) for the run; users found
    also go to the hub's ``UserDirectory`` for later runs."""

    def __init__(self, engine: Engine, client: SalesforceClient, users: UserDirectory | None = None) -> None:
        self.engine = engine
        self.client = client
        self._sf_ids: dict[tuple[str, str], str | None] = {}
        self._app_keys: dict[tuple[str, str], str | None] = {}
        self._users = users.fresh() if users is not None else UserDirectory()
        self._user_ids: dict[str, str | None] = dict(self._users.ids)
        self._user_emails: dict[str, str | None] = dict(self._users.emails)

    # -- answers -------------------------------------------------------------------------------------------
    def sf_id(self, flow: str, app_key: str) -> str | None:
        """The Salesforce Id linked to row ``app_key`` of ``flow`` (None: not linked, or deleted)."""
        if (flow, app_key) not in self._sf_ids:
            self._load_links(flow, [app_key], [])
        return self._sf_ids[(flow, app_key)]

    def app_key(self, flow: str, sf_id: str) -> str | None:
        """The key of the row of ``flow`` linked to ``sf_id`` (None: no live link)."""
        if (flow, sf_id) not in self._app_keys:
            self._load_links(flow, [], [sf_id])
        return self._app_keys[(flow, sf_id)]

    def user_id(self, username_or_email: str) -> str | None:
        """The Id of the active user with this username, else with this email (as ``find_user`` decides)."""
        name = username_or_email.strip().lower()
        if name not in self._user_ids:
            self._load_users_by_name([name])
        return self._user_ids[name]

    def user_email(self, user_id: str) -> str | None:
        if user_id not in self._user_emails:
            self._load_users_by_id([user_id])
        return self._user_emails[user_id]

    # -- priming -------------------------------------------------------------------------------------------
    def prime(self, fields: Sequence[FieldMap], rows: Iterable[Mapping[str, Any]],
              records: Iterable[Mapping[str, Any]]) -> None:
        """Load, in batches, every lookup that mapping these app rows and Salesforce records will ask for."""
        lookups = [f for f in fields if f.is_lookup]
        if not lookups:
            return
        rows, records = list(rows), list(records)
        for field_map in lookups:
            app_values = {str(row[field_map.app]).strip() for row in rows
                          if row.get(field_map.app) not in (None, "")}
            sf_values = {str(record[field_map.salesforce]) for record in records
                         if record.get(field_map.salesforce) not in (None, "")}
            if field_map.reference:
                flow = field_map.reference
                self._load_links(flow, [k for k in app_values if (flow, k) not in self._sf_ids],
                                 [i for i in sf_values if (flow, i) not in self._app_keys])
            else:
                self._load_users_by_name([n.lower() for n in app_values if n.lower() not in self._user_ids])
                self._load_users_by_id([i for i in sf_values if i not in self._user_emails])

    def _load_links(self, flow: str, app_keys: list[str], sf_ids: list[str]) -> None:
        with Session(self.engine) as session:
            by_key = repo.links_by_app_key(session, flow, app_keys) if app_keys else {}
            by_id = repo.links_by_sf_id(session, flow, sf_ids) if sf_ids else {}
        for key in app_keys:
            link = by_key.get(key)
            self._remember_link(flow, key, link.sf_id if link is not None and not link.deleted else None)
        for sf_id in sf_ids:
            link = by_id.get(sf_id)
            if link is not None and not link.deleted:
                self._remember_link(flow, link.app_key, sf_id)
            else:
                self._app_keys[(flow, sf_id)] = None

    def _remember_link(self, flow: str, app_key: str, sf_id: str | None) -> None:
        self._sf_ids[(flow, app_key)] = sf_id
        if sf_id:
            self._app_keys[(flow, sf_id)] = app_key

    def _load_users_by_name(self, names: list[str]) -> None:
        for start in range(0, len(names), USER_BATCH):
            chunk = names[start:start + USER_BATCH]
            listed = ", ".join(quote(name) for name in chunk)
            users = self.client.query_all(
                f"SELECT Id, Username, Email FROM User WHERE IsActive = true AND (Username IN ({listed}) "
                f"OR Email IN ({listed})) ORDER BY CreatedDate")
            for name in chunk:
                by_username = [u for u in users if str(u.get("Username") or "").lower() == name]
                by_email = [u for u in users if str(u.get("Email") or "").lower() == name]
                user = (by_username or by_email or [None])[0]
                self._user_ids[name] = user["Id"] if user else None
                if user:
                    self._user_emails[user["Id"]] = user.get("Email")
                    self._users.ids[name] = user["Id"]
                    self._users.emails[user["Id"]] = user.get("Email")

    def _load_users_by_id(self, user_ids: list[str]) -> None:
        for start in range(0, len(user_ids), USER_BATCH):
            chunk = user_ids[start:start + USER_BATCH]
            listed = ", ".join(quote(user_id) for user_id in chunk)
            found = {u["Id"]: u.get("Email") for u in self.client.query_all(
                f"SELECT Id, Email FROM User WHERE Id IN ({listed})")}
            for user_id in chunk:
                email = found.get(user_id) or found.get(user_id[:15])
                self._user_emails[user_id] = email
                if user_id in found or user_id[:15] in found:
                    self._users.emails[user_id] = email
