"""``SalesforceClient``: everything the hub does with an org, in as few API calls as Salesforce allows.

One code path for a real org and the sandbox: we log in ourselves against the configured login URL
(``auth.login``), then hand the instance URL and access token to an unmodified ``simple_salesforce.Salesforce``
that makes the calls. Around every call (``_connection.Connection.call``) sit the call counter, the budget
guard, session renewal and transient retries; writes pick sObject Collections or Bulk API 2.0 by size
(``_writes``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote as quote_path

from salesbridge.salesforce import _convert
from salesbridge.salesforce._bulk import BulkIngest
from salesbridge.salesforce._connection import Connection
from salesbridge.salesforce._writes import Writer
from salesbridge.salesforce.auth import LoginSettings, Token
from salesbridge.salesforce.datetimes import parse_datetime
from salesbridge.salesforce.errors import SalesforceError
from salesbridge.salesforce.results import DeletedRecord, DeletedRecords, UpdatedIds, WriteResult
from salesbridge.salesforce.retry import DEFAULT_RETRY, RetryPolicy
from salesbridge.salesforce.soql import quote

DEFAULT_API_VERSION = "62.0"
#: Salesforce's largest query page (and the default); the smallest it honours is 200.
MAX_PAGE_SIZE = 2000
MIN_PAGE_SIZE = 200


def _segment(value: str) -> str:
    """One URL path segment: names and ids never smuggle in another path."""
    return quote_path(value, safe="")


def _replication_time(value: datetime) -> str:
    """getUpdated/getDeleted want ISO 8601 in UTC (``2013-05-05T00:00:00+00:00``)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


class SalesforceClient:
    """A connection to one org, logged in on first use.

    ``bulk_threshold``: writes of more records than this go through Bulk API 2.0, fewer through sObject
    Collections (200 a call). ``budget_share`` (e.g. 0.9): refuse calls with BudgetExhausted once the org
    reports that share of its daily API allowance used. ``retry``: backoff for transient failures and row-lock
    re-sends. ``bulk_poll_interval``/``bulk_timeout``: how often and how long to wait for a Bulk job.
    """

    def __init__(self, settings: LoginSettings, *, api_version: str = DEFAULT_API_VERSION,
                 bulk_threshold: int = 2000, budget_share: float | None = None, retry: RetryPolicy = DEFAULT_RETRY,
                 bulk_poll_interval: float = 2.0, bulk_timeout: float = 3600.0) -> None:
        self.settings = settings
        self._conn = Connection(settings, api_version=api_version, retry=retry, budget_share=budget_share)
        self._bulk = BulkIngest(self._conn, poll_interval=bulk_poll_interval, timeout=bulk_timeout)
        self._writer = Writer(self._conn, self._bulk, bulk_threshold, self._object_of_id)
        self._describes: dict[str, dict[str, Any]] = {}
        self._global: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"SalesforceClient(login_url={self.settings.login_url!r}, flow={self.settings.flow!r})"

    def __enter__(self) -> SalesforceClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._conn.close()

    # -- session and counters --------------------------------------------------------------------------------
    def login(self) -> Token:
        """Log in now (otherwise the first call does); raises AuthenticationError when refused."""
        return self._conn.token

    @property
    def token(self) -> Token:
        return self._conn.token

    @property
    def api_version(self) -> str:
        return self._conn.api_version

    @property
    def bulk_threshold(self) -> int:
        return self._writer.bulk_threshold

    @property
    def api_calls(self) -> int:
        """HTTP requests answered by the org since the last ``reset_counter`` (logins not included)."""
        return self._conn.meter.calls

    @property
    def logins(self) -> int:
        """Logins made by this client (the first one and every renewal of an expired session)."""
        return self._conn.logins

    @property
    def org_usage(self) -> tuple[int, int] | None:
        """``(used, max)`` of the org's daily API allowance as last reported (Sforce-Limit-Info), or None."""
        return self._conn.meter.org_usage

    def reset_counter(self) -> None:
        self._conn.meter.reset()

    # -- reads -----------------------------------------------------------------------------------------------
    def query(self, soql: str, *, include_deleted: bool = False,
              batch_size: int = MAX_PAGE_SIZE) -> Iterator[list[dict[str, Any]]]:
        """Pages of records (dicts as Salesforce answers them, with ``attributes``), one call each.

        ``include_deleted`` uses queryAll (deleted and archived records too). ``batch_size`` asks for pages of
        that many records (Salesforce honours 200..2,000 and may answer fewer).
        """
        size = max(MIN_PAGE_SIZE, min(MAX_PAGE_SIZE, batch_size))
        headers = {"Sforce-Query-Options": f"batchSize={size}"}
        page = self._conn.call(lambda sf: sf.query(soql, include_deleted=include_deleted, headers=headers))
        while True:
            yield list(page.get("records") or [])
            next_url = page.get("nextRecordsUrl")
            if page.get("done", True) or not next_url:
                return
            page = self._conn.call(lambda sf, url=next_url: sf.query_more(url, identifier_is_url=True,
                                                                          headers=headers))

    def query_all(self, soql: str, *, include_deleted: bool = False,
                  batch_size: int = MAX_PAGE_SIZE) -> list[dict[str, Any]]:
        """Every record of a query, all pages read."""
        return [record for page in self.query(soql, include_deleted=include_deleted, batch_size=batch_size)
                for record in page]

    def count(self, soql: str, *, include_deleted: bool = False) -> int:
        """``totalSize`` of a query, in one call (``SELECT COUNT() FROM ...`` or any query)."""
        page = self._conn.call(lambda sf: sf.query(soql, include_deleted=include_deleted))
        return int(page.get("totalSize") or 0)

    def get(self, object_name: str, record_id: str, fields: Sequence[str] | None = None) -> dict[str, Any] | None:
        """One record by id (all fields, or ``fields``); None when there is no such record."""
        params = {"fields": ",".join(fields)} if fields else None
        try:
            path = f"sobjects/{_segment(object_name)}/{_segment(record_id)}"
            return self._conn.call(lambda sf: sf.restful(path, params=params))
        except SalesforceError as error:
            if error.status == 404 and error.error_code == "NOT_FOUND":
                return None
            raise

    def version_data(self, version_id: str) -> bytes:
        """The bytes of a file version (``sobjects/ContentVersion/<id>/VersionData``): one call per file, since
        Salesforce serves no batch download. An unknown id raises SalesforceError NOT_FOUND."""
        path = f"sobjects/ContentVersion/{_segment(version_id)}/VersionData"
        return self._conn.call(lambda sf: sf._call_salesforce("GET", sf.base_url + path, name=path).content)

    def describe(self, object_name: str) -> dict[str, Any]:
        """An object's describe (fields, picklists, relationships), cached for the life of the client."""
        key = object_name.lower()
        if key not in self._describes:
            path = f"sobjects/{_segment(object_name)}/describe"
            self._describes[key] = self._conn.call(lambda sf: sf.restful(path))
        return self._describes[key]

    def describe_global(self) -> dict[str, Any]:
        """The org's objects (names, key prefixes, capabilities), cached for the life of the client."""
        if self._global is None:
            self._global = self._conn.call(lambda sf: sf.describe())
        return self._global

    def limits(self) -> dict[str, Any]:
        """The org's limits (``DailyApiRequests``: ``Max``/``Remaining``, ...); also updates ``org_usage``."""
        answer = self._conn.call(lambda sf: sf.limits())
        daily = answer.get("DailyApiRequests") if isinstance(answer, dict) else None
        if isinstance(daily, dict) and isinstance(daily.get("Max"), int) and isinstance(daily.get("Remaining"), int):
            self._conn.meter.note_usage(daily["Max"] - daily["Remaining"], daily["Max"])
        return answer

    def get_updated(self, object_name: str, start: datetime, end: datetime) -> UpdatedIds:
        """Ids of records of ``object_name`` changed between ``start`` and ``end`` (at most 30 days back)."""
        params = {"start": _replication_time(start), "end": _replication_time(end)}
        path = f"sobjects/{_segment(object_name)}/updated/"
        answer = self._conn.call(lambda sf: sf.restful(path, params=params))
        return UpdatedIds(list(answer.get("ids") or []), parse_datetime(answer["latestDateCovered"]))

    def get_deleted(self, object_name: str, start: datetime, end: datetime) -> DeletedRecords:
        """Records of ``object_name`` deleted between ``start`` and ``end`` (Salesforce keeps about 15 days)."""
        params = {"start": _replication_time(start), "end": _replication_time(end)}
        path = f"sobjects/{_segment(object_name)}/deleted/"
        answer = self._conn.call(lambda sf: sf.restful(path, params=params))
        earliest = answer.get("earliestDateAvailable")
        return DeletedRecords(
            [DeletedRecord(item["id"], parse_datetime(item["deletedDate"]))
             for item in answer.get("deletedRecords") or []],
            parse_datetime(earliest) if earliest else None,
            parse_datetime(answer["latestDateCovered"]),
        )

    def find_user(self, username_or_email: str) -> dict[str, Any] | None:
        """The active User with this Username, else the first active one with this Email; None if neither."""
        value = quote(username_or_email.strip())
        users = self.query_all(f"SELECT Id, Username, Email, Name, IsActive FROM User WHERE IsActive = true "
                               f"AND (Username = {value} OR Email = {value}) ORDER BY CreatedDate LIMIT 200")
        wanted = username_or_email.strip().lower()
        by_username = [user for user in users if str(user.get("Username") or "").lower() == wanted]
        return (by_username or users or [None])[0]

    # -- writes ----------------------------------------------------------------------------------------------
    def create(self, object_name: str, records: Sequence[Mapping[str, Any]]) -> list[WriteResult]:
        """Insert records; one WriteResult per input, in input order. Per-record failures do not raise."""
        return self._writer.write("create", object_name, records)

    def update(self, object_name: str, records: Sequence[Mapping[str, Any]]) -> list[WriteResult]:
        """Update records, each carrying its ``Id``."""
        return self._writer.write("update", object_name, records)

    def upsert(self, object_name: str, external_id_field: str,
               records: Sequence[Mapping[str, Any]]) -> list[WriteResult]:
        """Insert or update by an external id field (each record carries its value); ``created`` tells which."""
        return self._writer.write("upsert", object_name, records, external_id_field)

    def delete(self, ids: Sequence[str]) -> list[WriteResult]:
        """Delete records by id (any objects; above the bulk threshold one Bulk job per object)."""
        return self._writer.write("delete", None, ids)

    def _object_of_id(self, record_id: str) -> str | None:
        """The object whose key prefix starts ``record_id`` (describeGlobal, cached)."""
        prefix = record_id[:3]
        for item in self.describe_global().get("sobjects") or []:
            if item.get("keyPrefix") == prefix:
                return str(item["name"])
        return None

    # -- lead conversion -------------------------------------------------------------------------------------
    def convert_leads(self, leads: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Convert several leads with one SOAP ``convertLead`` call per 100; each item names ``lead_id`` and
        ``converted_status`` (and optionally ``account_id``, ``contact_id``, ``do_not_create_opportunity``,
        ``opportunity_name``, ``owner_id``). One answer per lead, in order: leadId, accountId, contactId,
        opportunityId and ``error`` (a SalesforceError for a lead Salesforce refused, else None)."""
        answers: list[dict[str, Any]] = []
        for start in range(0, len(leads), _convert.MAX_CONVERTS):
            answers.extend(_convert.convert_leads(self._conn, [{
                "leadId": lead["lead_id"], "convertedStatus": lead["converted_status"],
                "accountId": lead.get("account_id"), "contactId": lead.get("contact_id"),
                "doNotCreateOpportunity": bool(lead.get("do_not_create_opportunity")),
                "opportunityName": lead.get("opportunity_name"), "ownerId": lead.get("owner_id"),
                "sendNotificationEmail": bool(lead.get("send_notification_email")),
            } for lead in leads[start:start + _convert.MAX_CONVERTS]]))
        return answers

    def convert_lead(self, lead_id: str, converted_status: str, *, account_id: str | None = None,
                     contact_id: str | None = None, do_not_create_opportunity: bool = False,
                     opportunity_name: str | None = None, owner_id: str | None = None,
                     send_notification_email: bool = False) -> dict[str, Any]:
        """Convert a lead (SOAP convertLead); answers leadId, accountId, contactId, opportunityId.

        Raises SalesforceError with Salesforce's statusCode when the conversion is refused.
        """
        return _convert.convert_lead(self._conn, {
            "leadId": lead_id, "convertedStatus": converted_status, "accountId": account_id,
            "contactId": contact_id, "doNotCreateOpportunity": do_not_create_opportunity,
            "opportunityName": opportunity_name, "ownerId": owner_id,
            "sendNotificationEmail": send_notification_email,
        })
