"""Bulk API 2.0 jobs: what a job is, how it is shown, and where it is kept.

A job's info is small and changes a few times (state transitions); it is kept in the store's key/value table
so that jobs and their results survive a sandbox restart. Uploaded data and results can be large: each is
written once (the upload when it arrives, results when the job ends), never rewritten per row, and query
results are split into chunks so that a page of results reads only the chunks it needs.
"""

from __future__ import annotations

import base64
import threading
from dataclasses import asdict, dataclass, fields
from typing import Any

from salesbridge.sandbox import ids
from salesbridge.sandbox.errors import SandboxApiError
from salesbridge.sandbox.store import Store

JOB_KEY_PREFIX = "750"
INGEST_OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
QUERY_OPERATIONS = ("query", "queryAll")

OPEN = "Open"
UPLOAD_COMPLETE = "UploadComplete"
IN_PROGRESS = "InProgress"
JOB_COMPLETE = "JobComplete"
FAILED = "Failed"
ABORTED = "Aborted"
FINISHED_STATES = (JOB_COMPLETE, FAILED, ABORTED)

#: Query result lines per stored chunk: a page of results loads only the chunks it overlaps.
QUERY_CHUNK_LINES = 10_000


class BulkApiError(SandboxApiError):
    """A Bulk API 2.0 error: answered as ``[{"errorCode", "message"}]`` (no ``fields``)."""

    def as_rest(self) -> dict:
        return {"errorCode": self.error_code, "message": self.message}


@dataclass
class BulkJob:
    """One ingest or query job, as kept in the store."""

    id: str
    kind: str  # "ingest" or "query"
    operation: str
    object: str
    created_by_id: str
    created_date: str
    system_modstamp: str
    state: str
    api_version: float
    column_delimiter: str = "COMMA"
    line_ending: str = "LF"
    external_id_field: str | None = None
    query: str | None = None
    records_processed: int = 0
    records_failed: int = 0
    processing_ms: int = 0
    error_message: str | None = None
    #: Uploads received (Salesforce accepts one; a second makes the close fail).
    upload_count: int = 0
    #: Query jobs: the header line and the number of stored chunks of result lines.
    result_header: str = ""
    result_chunks: int = 0

    @property
    def job_type(self) -> str:
        return "V2Ingest" if self.kind == "ingest" else "V2Query"

    def summary(self) -> dict[str, Any]:
        """The job info answered on create and state changes (no processing counters)."""
        info: dict[str, Any] = {
            "id": self.id, "operation": self.operation, "object": self.object,
            "createdById": self.created_by_id, "createdDate": self.created_date,
            "systemModstamp": self.system_modstamp, "state": self.state,
        }
        if self.external_id_field:
            info["externalIdFieldName"] = self.external_id_field
        info.update({"concurrencyMode": "Parallel", "contentType": "CSV", "apiVersion": self.api_version})
        if self.kind == "ingest":
            info["contentUrl"] = f"services/data/v{self.api_version:.1f}/jobs/ingest/{self.id}/batches"
        info.update({"lineEnding": self.line_ending, "columnDelimiter": self.column_delimiter})
        return info

    def listing(self) -> dict[str, Any]:
        """The job as one entry of the Get All Jobs answer."""
        info = self.summary()
        info.pop("contentUrl", None)
        info["jobType"] = self.job_type
        return info

    def detail(self) -> dict[str, Any]:
        """Get Job Info: the summary plus job type and processing counters."""
        info = self.summary()
        detail: dict[str, Any] = {}
        for key, value in info.items():
            detail[key] = value
            if key == "apiVersion":
                detail["jobType"] = self.job_type
        detail["numberRecordsProcessed"] = self.records_processed
        if self.kind == "ingest":
            detail["numberRecordsFailed"] = self.records_failed
        detail["retries"] = 0
        detail["totalProcessingTime"] = self.processing_ms
        if self.kind == "ingest":
            detail["apiActiveProcessingTime"] = self.processing_ms
            detail["apexProcessingTime"] = 0
        if self.error_message:
            detail["errorMessage"] = self.error_message
        return detail


def encode_position(position: int) -> str:
    """A locator string for a position in a listing or result set (Salesforce's are opaque base64 too)."""
    return base64.urlsafe_b64encode(str(position).encode()).decode().rstrip("=")


def decode_position(locator: str) -> int:
    """The position behind a locator; raises ValueError for anything we did not hand out."""
    padded = locator + "=" * (-len(locator) % 4)
    try:
        position = int(base64.urlsafe_b64decode(padded.encode()).decode())
    except (ValueError, UnicodeDecodeError):
        raise ValueError(f"invalid locator: {locator!r}") from None
    if position < 0:
        raise ValueError(f"invalid locator: {locator!r}")
    return position


class JobBook:
    """Jobs, uploads and results in the store's key/value table, with job infos cached in memory."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.lock = threading.RLock()
        self._jobs: dict[str, BulkJob] = {}
        known = {f.name for f in fields(BulkJob)}
        for job_id in store.kv_get("bulk:index", []):
            data = store.kv_get(f"bulk:job:{job_id}")
            if data is not None:
                self._jobs[job_id] = BulkJob(**{k: v for k, v in data.items() if k in known})

    # -- jobs ----------------------------------------------------------------------------------------
    def new_id(self) -> str:
        with self.lock:
            sequence = int(self.store.kv_get("bulk:sequence", 0)) + 1
            self.store.kv_set("bulk:sequence", sequence)
            return ids.make_id(JOB_KEY_PREFIX, sequence)

    def add(self, job: BulkJob) -> None:
        with self.lock:
            self._jobs[job.id] = job
            self.save(job)
            self.store.kv_set("bulk:index", list(self._jobs))

    def save(self, job: BulkJob) -> None:
        with self.lock:
            self.store.kv_set(f"bulk:job:{job.id}", asdict(job))

    def get(self, job_id: str) -> BulkJob | None:
        try:
            full = ids.to_18(job_id)
        except ValueError:
            return None
        return self._jobs.get(full)

    def jobs(self, kind: str) -> list[BulkJob]:
        with self.lock:
            return [job for job in self._jobs.values() if job.kind == kind]

    def remove(self, job: BulkJob) -> None:
        """Forget a job with its upload and results (Delete a Job)."""
        with self.lock:
            self._jobs.pop(job.id, None)
            self.store.kv_set("bulk:index", list(self._jobs))
            for key in (f"bulk:job:{job.id}", f"bulk:upload:{job.id}", f"bulk:results:{job.id}:successful",
                        f"bulk:results:{job.id}:failed", f"bulk:results:{job.id}:unprocessed"):
                self.store.kv_delete(key)
            for chunk in range(job.result_chunks):
                self.store.kv_delete(f"bulk:rows:{job.id}:{chunk}")

    # -- ingest data and results -----------------------------------------------------------------------
    def save_upload(self, job: BulkJob, text: str) -> None:
        self.store.kv_set(f"bulk:upload:{job.id}", text)

    def load_upload(self, job: BulkJob) -> str:
        return self.store.kv_get(f"bulk:upload:{job.id}", "")

    def save_results(self, job: BulkJob, successful: str | None, failed: str | None,
                     unprocessed: str | None) -> None:
        """Write a finished job's result files, once (None: that file has nothing to keep)."""
        for kind, text in (("successful", successful), ("failed", failed), ("unprocessed", unprocessed)):
            if text is not None:
                self.store.kv_set(f"bulk:results:{job.id}:{kind}", text)

    def load_results(self, job: BulkJob, kind: str) -> str | None:
        return self.store.kv_get(f"bulk:results:{job.id}:{kind}")

    # -- query results ---------------------------------------------------------------------------------
    def save_query_lines(self, job: BulkJob, lines: list[str]) -> int:
        """Store result lines in chunks; answers the number of chunks."""
        chunks = 0
        for start in range(0, len(lines), QUERY_CHUNK_LINES):
            self.store.kv_set(f"bulk:rows:{job.id}:{chunks}", lines[start:start + QUERY_CHUNK_LINES])
            chunks += 1
        return chunks

    def load_query_lines(self, job: BulkJob, start: int, count: int) -> list[str]:
        """Result lines ``start`` to ``start + count`` (fewer at the end)."""
        lines: list[str] = []
        end = min(start + count, job.records_processed)
        position = start
        while position < end:
            chunk, offset = divmod(position, QUERY_CHUNK_LINES)
            stored: list[str] = self.store.kv_get(f"bulk:rows:{job.id}:{chunk}", [])
            piece = stored[offset:offset + (end - position)]
            if not piece:
                break
            lines.extend(piece)
            position += len(piece)
        return lines
