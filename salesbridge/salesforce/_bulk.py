"""Writes through Bulk API 2.0 ingest jobs, with every result mapped back to its input position.

One job per object (deletes may span objects) and per ~90 MB of CSV. The steps are driven one by one through
simple-salesforce's Bulk 2.0 job client, so that each step is retried or renewed on its own and a failure never
repeats work that was done:

- create the job (guarded by the budget; a retried create at worst leaves an empty Open job, which Salesforce
  discards);
- upload the CSV: if that fails, the job is aborted (nothing of it is processed) and a new job is made;
- close it (``UploadComplete``): if the answer is lost, the job's state tells whether the close happened;
- poll until JobComplete, Failed or Aborted (not guarded: a started job is finished, not abandoned);
- read successful, failed and (when some are missing) unprocessed results.

Mapping back: Bulk results are not in input order. Each result row repeats the uploaded columns as they were
sent, so a result is matched to the input whose whole row is identical (a multiset: duplicates are taken in
order), falling back to the key column (Id for update/delete, the external id for upsert). For inserts there is
no key we control besides the row itself: rows that are identical in every sent column are interchangeable, so
which of them gets which new Id is arbitrary (they are the same data). Inputs without any result (a failed job)
come back as failures.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import time
from collections import defaultdict, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from simple_salesforce import Salesforce

from salesbridge.salesforce._collections import Operation, failed, input_id
from salesbridge.salesforce._connection import Connection
from salesbridge.salesforce._translate import classify
from salesbridge.salesforce._wire import csv_cell
from salesbridge.salesforce.errors import SalesforceError, TransientError
from salesbridge.salesforce.results import WriteResult

log = logging.getLogger(__name__)

#: Salesforce accepts up to 150 MB per upload after base64 (about 100 MB of CSV); keep a margin.
MAX_JOB_BYTES = 90 * 1024 * 1024
_BULK_OPERATIONS = {"create": "insert", "update": "update", "upsert": "upsert", "delete": "delete"}
_FINISHED = ("JobComplete", "Failed", "Aborted")
_CODE_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")


@dataclass
class Table:
    """The CSV of one object's records: header, and per input position its cells."""

    header: list[str]
    rows: list[tuple[int, list[str]]]


def build_table(operation: str, external_id_field: str | None, items: Sequence[tuple[int, Any]],
                results: list[WriteResult | None]) -> Table:
    """Cells for each record (missing keys: empty = no value / unchanged; None: ``#N/A`` = null).

    A record that cannot be written as CSV fails on its own in ``results``.
    """
    if operation == "delete":
        header = ["Id"]
    else:
        header = []
        seen: set[str] = set()
        for _, record in items:
            if not isinstance(record, Mapping):
                continue
            for name in _columns(record):
                if name not in seen:
                    seen.add(name)
                    header.append(name)
        if external_id_field and external_id_field not in seen and external_id_field.lower() != "id":
            header.append(external_id_field)
    rows: list[tuple[int, list[str]]] = []
    for index, record in items:
        try:
            if operation == "delete":
                if not isinstance(record, str) or not record.strip():
                    raise ValueError(f"a record id to delete must be a non-empty string, got {record!r}")
                cells = [record.strip()]
            elif not isinstance(record, Mapping):
                raise TypeError(f"a record must be a mapping of field names to values, got {type(record).__name__}")
            else:
                flat = _flatten(record)
                cells = [csv_cell(flat[name], name) if name in flat else "" for name in header]
        except (TypeError, ValueError) as error:
            results[index] = failed(index, operation, record, SalesforceError("INVALID_VALUE", str(error)))
            continue
        rows.append((index, cells))
    return Table(header, rows)


def _columns(record: Mapping[str, Any]) -> list[str]:
    return list(_flatten(record))


def _flatten(record: Mapping[str, Any]) -> dict[str, Any]:
    """Field -> value, a parent by external id (``{"Account": {"Ext__c": "A-1"}}``) as ``Account.Ext__c``."""
    flat: dict[str, Any] = {}
    for name, value in record.items():
        if name == "attributes":
            continue
        if isinstance(value, Mapping):
            for sub_name, sub_value in value.items():
                if sub_name != "attributes":
                    flat[f"{name}.{sub_name}"] = sub_value
        else:
            flat[name] = value
    return flat


def render_csv(header: list[str], rows: Sequence[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def split_by_size(table: Table, max_bytes: int = MAX_JOB_BYTES) -> list[Table]:
    """Tables of at most ``max_bytes`` of CSV each (one row over the limit still makes its own table)."""
    parts: list[Table] = []
    current: list[tuple[int, list[str]]] = []
    size = 0
    for index, cells in table.rows:
        row_bytes = sum(len(cell.encode()) + 3 for cell in cells) + 1
        if current and size + row_bytes > max_bytes:
            parts.append(Table(table.header, current))
            current, size = [], 0
        current.append((index, cells))
        size += row_bytes
    if current:
        parts.append(Table(table.header, current))
    return parts


def parse_bulk_error(text: str) -> SalesforceError:
    """An ``sf__Error`` cell (``CODE:message:Field1 Field2 --``) as our error."""
    code, separator, rest = text.partition(":")
    if not separator or not _CODE_RE.match(code.strip()):
        return SalesforceError("BULK_ERROR", text.strip())
    rest = rest.strip()
    rest = rest.removesuffix("--").rstrip()
    message, separator, field_text = rest.rpartition(":")
    if not separator:
        message, field_text = rest, ""
    return classify(code.strip(), message.strip(), field_text.split(), None)


def _key_column(operation: str, header: list[str], external_id_field: str | None) -> int | None:
    wanted = "id" if operation in ("update", "delete") else (external_id_field or "").lower()
    if operation == "create" or not wanted:
        return None
    return next((position for position, name in enumerate(header) if name.lower() == wanted), None)


class _Matcher:
    """Finds the input a result row is about: by its whole row, else by its key cell."""

    def __init__(self, table: Table, key_column: int | None) -> None:
        self.header = table.header
        self.key_column = key_column
        self.by_row: dict[tuple[str, ...], deque[int]] = defaultdict(deque)
        self.by_key: dict[str, deque[int]] = defaultdict(deque)
        self.assigned: set[int] = set()
        for index, cells in table.rows:
            self.by_row[tuple(cells)].append(index)
            if key_column is not None:
                self.by_key[cells[key_column]].append(index)

    def _take(self, queue: deque[int] | None) -> int | None:
        while queue:
            index = queue.popleft()
            if index not in self.assigned:
                self.assigned.add(index)
                return index
        return None

    def match(self, cells: tuple[str, ...]) -> int | None:
        index = self._take(self.by_row.get(cells))
        if index is None and self.key_column is not None:
            index = self._take(self.by_key.get(cells[self.key_column]))
        return index


def _result_rows(text: str, header: list[str], leading: int) -> list[tuple[list[str], tuple[str, ...]]]:
    """``(sf__ cells, our columns' cells in our header order)`` of each row of a result file."""
    if not text.strip():
        return []
    reader = csv.reader(io.StringIO(text, newline=""))
    result_header = next(reader, [])
    positions: dict[str, int] = {}
    for position, name in enumerate(result_header[leading:], start=leading):
        positions.setdefault(name.lower(), position)
    columns = [positions.get(name.lower()) for name in header]
    rows = []
    for row in reader:
        if not row:
            continue
        ours = tuple(row[p] if p is not None and p < len(row) else "" for p in columns)
        rows.append((row[:leading], ours))
    return rows


def correlate(operation: str, table: Table, external_id_field: str | None, successful: str, failed_text: str,
              unprocessed: str, unprocessed_reason: str, results: list[WriteResult | None]) -> None:
    """Fill ``results`` for every row of ``table`` from the job's three result files."""
    key_column = _key_column(operation, table.header, external_id_field)
    matcher = _Matcher(table, key_column)
    unmatched = 0
    for lead, cells in _result_rows(successful, table.header, 2):
        index = matcher.match(cells)
        if index is None:
            unmatched += 1
            continue
        created = lead[1].strip().lower() == "true" if operation in ("create", "upsert") else False
        results[index] = WriteResult(index, lead[0] or None, True, created, [])
    for lead, cells in _result_rows(failed_text, table.header, 2):
        index = matcher.match(cells)
        if index is None:
            unmatched += 1
            continue
        record_id = lead[0] or (cells[key_column] if key_column is not None and operation != "upsert" else "")
        results[index] = WriteResult(index, record_id or None, False, None, [parse_bulk_error(lead[1])])
    for _, cells in _result_rows(unprocessed, table.header, 0):
        index = matcher.match(cells)
        if index is None:
            unmatched += 1
            continue
        results[index] = WriteResult(index, None, False, None, [SalesforceError("NOT_PROCESSED", unprocessed_reason)])
    if unmatched:
        log.warning("%d Bulk API result rows matched no input row", unmatched)
    for index, _cells in table.rows:
        if results[index] is None:
            results[index] = WriteResult(index, None, False, None, [SalesforceError(
                "RESULT_MISSING", f"the Bulk API job reported no result for this record ({unprocessed_reason})")])


def _bulk_type(sf: Salesforce, object_name: str) -> Any:
    """simple-salesforce's Bulk 2.0 handler for one object (``sf.bulk2.<Object>``)."""
    return getattr(sf.bulk2, object_name)


def _jobs(sf: Salesforce, object_name: str) -> Any:
    """simple-salesforce's Bulk 2.0 job client (create/upload/close/abort/get job), one step per call.

    Its high-level ``insert``/``update`` run all steps in one go, which leaves no place to renew a session or
    retry one step without redoing (and duplicating) the others.
    """
    return _bulk_type(sf, object_name)._client


class BulkIngest:
    """Runs Bulk API 2.0 ingest jobs over a Connection."""

    def __init__(self, conn: Connection, *, poll_interval: float = 2.0, timeout: float = 3600.0,
                 max_job_bytes: int = MAX_JOB_BYTES) -> None:
        self.conn = conn
        self.poll_interval = poll_interval
        self.timeout = timeout
        self.max_job_bytes = max_job_bytes

    def write(self, operation: Operation, object_name: str | None, external_id_field: str | None,
              indices: Sequence[int], records: Sequence[Any], results: list[WriteResult | None],
              object_of_id: Callable[[str], str | None]) -> None:
        groups: dict[str, list[tuple[int, Any]]] = defaultdict(list)
        for index in indices:
            record = records[index]
            name = object_name
            if operation == "delete":
                record_id = input_id("delete", record)
                name = object_of_id(record_id) if record_id else None
                if name is None:
                    results[index] = failed(index, operation, record, SalesforceError(
                        "MALFORMED_ID", f"no object of this org has the key prefix of {record!r}"))
                    continue
            assert name is not None
            groups[name].append((index, record))
        for name, items in groups.items():
            table = build_table(operation, external_id_field, items, results)
            for part in split_by_size(table, self.max_job_bytes):
                self._run_job(operation, name, external_id_field, part, results)

    # -- one job ------------------------------------------------------------------------------------------
    def _run_job(self, operation: Operation, object_name: str, external_id_field: str | None, table: Table,
                 results: list[WriteResult | None]) -> None:
        if not table.rows:
            return
        data = render_csv(table.header, [cells for _, cells in table.rows])
        job_id = self._open_and_upload(operation, object_name, external_id_field, data)
        self._close(object_name, job_id)
        info = self._wait(object_name, job_id)
        self._collect(operation, object_name, external_id_field, job_id, info, table, results)

    def _open_and_upload(self, operation: Operation, object_name: str, external_id_field: str | None,
                         data: str) -> str:
        retry = self.conn.retry
        attempt = 0
        while True:
            job = self.conn.call(lambda sf: _jobs(sf, object_name).create_job(
                _BULK_OPERATIONS[operation], external_id_field=external_id_field if operation == "upsert" else None))
            job_id = str(job["id"])
            try:
                self.conn.call(lambda sf, job_id=job_id: _jobs(sf, object_name).upload_job_data(job_id, data),
                               repeatable=False, guard=False)
                return job_id
            except SalesforceError as error:
                self._abort_quietly(object_name, job_id)
                attempt += 1
                if not isinstance(error, TransientError) or attempt >= retry.attempts:
                    raise
                log.info("upload to Bulk job %s failed (%s); aborted it, starting a new job", job_id,
                         error.error_code)
                retry.wait(attempt - 1)

    def _abort_quietly(self, object_name: str, job_id: str) -> None:
        try:
            self.conn.call(lambda sf: _jobs(sf, object_name).abort_job(job_id, False), guard=False)
        except SalesforceError as error:
            log.warning("could not abort Bulk job %s: %s", job_id, error)

    def _state(self, object_name: str, job_id: str) -> dict[str, Any]:
        return self.conn.call(lambda sf: _jobs(sf, object_name).get_job(job_id, False), guard=False)

    def _close(self, object_name: str, job_id: str) -> None:
        retry = self.conn.retry
        for attempt in range(retry.attempts):
            try:
                self.conn.call(lambda sf: _jobs(sf, object_name).close_job(job_id), repeatable=False, guard=False)
                return
            except TransientError:
                if self._state(object_name, job_id).get("state") != "Open":
                    return  # the close went through; only its answer was lost
                if attempt + 1 >= retry.attempts:
                    self._abort_quietly(object_name, job_id)
                    raise
                retry.wait(attempt)
            except SalesforceError:
                self._abort_quietly(object_name, job_id)  # an Open job left behind would only expire later
                raise

    def _wait(self, object_name: str, job_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        interval = self.poll_interval
        while True:
            time.sleep(interval)
            info = self._state(object_name, job_id)
            if info.get("state") in _FINISHED:
                return info
            if time.monotonic() >= deadline:
                log.warning("Bulk job %s still %s after %.0fs; aborting it", job_id, info.get("state"), self.timeout)
                self._abort_quietly(object_name, job_id)
                return self._state(object_name, job_id)
            interval = min(max(self.poll_interval, 10.0), interval * 1.5)

    def _collect(self, operation: Operation, object_name: str, external_id_field: str | None, job_id: str,
                 info: dict[str, Any], table: Table, results: list[WriteResult | None]) -> None:
        processed = int(info.get("numberRecordsProcessed") or 0)
        failures = int(info.get("numberRecordsFailed") or 0)
        bulk = self.conn

        def fetch(kind: str) -> str:
            method = {"successful": "get_successful_records", "failed": "get_failed_records",
                      "unprocessed": "get_unprocessed_records"}[kind]
            return bulk.call(lambda sf: getattr(_bulk_type(sf, object_name), method)(job_id), guard=False)

        successful = fetch("successful") if processed - failures > 0 else ""
        failed_text = fetch("failed") if failures > 0 else ""
        unprocessed = fetch("unprocessed") if processed < len(table.rows) else ""
        state = info.get("state")
        reason = f"Bulk job {job_id} ended {state}"
        if info.get("errorMessage"):
            reason += f": {info['errorMessage']}"
        correlate(operation, table, external_id_field, successful, failed_text, unprocessed, reason, results)
