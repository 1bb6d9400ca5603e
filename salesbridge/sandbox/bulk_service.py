"""Bulk API 2.0 behaviour, apart from HTTP: job creation, state changes, background processing, results.

Jobs run in a background thread as on Salesforce: an ingest job starts when its upload is complete, a query job
as soon as it is created. Rows go through the org's RecordService one at a time; the job's counters are kept in
memory while it runs and written with each state change, results once at the end. A job interrupted by a
restart is finished when the service starts again: a query or an ingest job that had not started is run, an
ingest job caught half way fails (rows written before the restart stay written, as on Salesforce).
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from typing import Any

from salesbridge.salesforce.datetimes import format_datetime
from salesbridge.sandbox import bulk_csv, bulk_query
from salesbridge.sandbox.bulk_csv import CsvDataError
from salesbridge.sandbox.bulk_ingest import IngestOutcome, IngestRun, JobFailure, elapsed_ms, plan_columns
from salesbridge.sandbox.bulk_jobs import (
    ABORTED,
    FAILED,
    FINISHED_STATES,
    IN_PROGRESS,
    INGEST_OPERATIONS,
    JOB_COMPLETE,
    OPEN,
    QUERY_OPERATIONS,
    UPLOAD_COMPLETE,
    BulkApiError,
    BulkJob,
    JobBook,
    decode_position,
    encode_position,
)
from salesbridge.sandbox.errors import SandboxApiError
from salesbridge.sandbox.org import Org

log = logging.getLogger(__name__)

#: Jobs per page of Get All Jobs.
LIST_PAGE_SIZE = 1000
#: Query result rows per page when the client gives no maxRecords.
DEFAULT_MAX_RECORDS = 50_000
_RESULT_COLUMNS = {"successful": ["sf__Id", "sf__Created"], "failed": ["sf__Id", "sf__Error"]}


def not_found() -> BulkApiError:
    return BulkApiError("NOT_FOUND", "The requested resource does not exist", status=404)


def _enum_error(type_name: str, value: Any) -> BulkApiError:
    return BulkApiError("JSON_PARSER_ERROR", f"Cannot deserialize instance of {type_name} from VALUE_STRING "
                        f"value {value} or request may be missing a required field")


_services: weakref.WeakKeyDictionary[Org, BulkService] = weakref.WeakKeyDictionary()
_services_lock = threading.Lock()


def bulk_service(org: Org) -> BulkService:
    """The org's one Bulk service (made on first use, which also resumes jobs a restart interrupted)."""
    with _services_lock:
        service = _services.get(org)
        if service is None:
            service = BulkService(org)
            _services[org] = service
            service.resume_interrupted()
        return service


class BulkService:
    """Ingest and query jobs of one org."""

    def __init__(self, org: Org) -> None:
        self.org = org
        self.book = JobBook(org.store)
        self._threads: dict[str, threading.Thread] = {}

    # -- creating jobs ---------------------------------------------------------------------------------
    def create_ingest_job(self, body: Any, user_id: str, api_version: float) -> BulkJob:
        """A new Open ingest job from a Create Job request body."""
        body = _object_body(body)
        operation = body.get("operation")
        if operation is None:
            raise BulkApiError("INVALIDJOB", "Operation is required")
        if operation not in INGEST_OPERATIONS:
            raise _enum_error("OperationEnum", operation)
        column_delimiter, line_ending = _dialect(body)
        object_name = body.get("object")
        if not object_name or not isinstance(object_name, str):
            raise BulkApiError("INVALIDJOB", "Object is required")
        object_def = self.org.schema.get(object_name)
        if object_def is None:
            raise BulkApiError("INVALIDJOB", f"Unable to find object: {object_name}")
        external_id_field = body.get("externalIdFieldName") or None
        if operation == "upsert":
            external_id_field = self._external_id_field(object_def.name, external_id_field)
        else:
            external_id_field = None
        stamp = format_datetime(self.org.clock.now())
        job = BulkJob(
            id=self.book.new_id(), kind="ingest", operation=operation, object=object_def.name,
            created_by_id=user_id, created_date=stamp, system_modstamp=stamp, state=OPEN,
            api_version=api_version, column_delimiter=column_delimiter, line_ending=line_ending,
            external_id_field=external_id_field,
        )
        self.book.add(job)
        return job

    def create_ingest_job_with_data(self, body: Any, data: bytes, user_id: str, api_version: float) -> dict[str, Any]:
        """A multipart Create Job: the job and its data in one request; the job is closed and starts at once."""
        job = self.create_ingest_job(body, user_id, api_version)
        self.upload(job.id, data)
        return self.change_state("ingest", job.id, {"state": UPLOAD_COMPLETE})

    def _external_id_field(self, object_name: str, requested: Any) -> str:
        if not requested or not isinstance(requested, str):
            raise BulkApiError("INVALIDJOB", f"External ID was blank for {object_name}. An External ID must be "
                                             "specified for upsert.")
        object_def = self.org.schema.get(object_name)
        assert object_def is not None
        field_def = object_def.field(requested)
        if field_def is None or not (field_def.type == "id" or field_def.external_id or field_def.unique):
            raise BulkApiError("INVALIDJOB", f"Field name provided, {requested} does not match an External ID, "
                                             f"Salesforce Id, or indexed field for {object_name}")
        return field_def.name

    def create_query_job(self, body: Any, user_id: str, api_version: float) -> dict[str, Any]:
        """A new query job, started at once; answers its info as created (state UploadComplete).

        SOQL errors answer 400 here, as Salesforce checks the query when the job is created.
        """
        body = _object_body(body)
        operation = body.get("operation")
        if operation not in QUERY_OPERATIONS:
            raise _enum_error("OperationEnum", operation)
        column_delimiter, line_ending = _dialect(body)
        query = body.get("query")
        if not query or not isinstance(query, str):
            raise BulkApiError("INVALIDJOB", "Query is required")
        object_name = bulk_query.validate(self.org, query, include_deleted=operation == "queryAll")
        stamp = format_datetime(self.org.clock.now())
        job = BulkJob(
            id=self.book.new_id(), kind="query", operation=operation, object=object_name,
            created_by_id=user_id, created_date=stamp, system_modstamp=stamp, state=UPLOAD_COMPLETE,
            api_version=api_version, column_delimiter=column_delimiter, line_ending=line_ending, query=query,
        )
        self.book.add(job)
        created = job.summary()
        self._start(job)
        return created

    # -- reading jobs ----------------------------------------------------------------------------------
    def job(self, kind: str, job_id: str) -> BulkJob:
        job = self.book.get(job_id)
        if job is None or job.kind != kind:
            raise not_found()
        return job

    def listing(self, kind: str, base_url: str, params: dict[str, str]) -> dict[str, Any]:
        """Get All Jobs: one page of jobs, oldest first, with ``nextRecordsUrl`` while more remain."""
        jobs = self.book.jobs(kind)
        if params.get("jobType"):
            jobs = [job for job in jobs if job.job_type == params["jobType"]]
        if params.get("concurrencyMode"):
            jobs = [job for job in jobs if params["concurrencyMode"] == "Parallel"]
        start = 0
        if params.get("queryLocator"):
            try:
                start = decode_position(params["queryLocator"])
            except ValueError:
                raise BulkApiError("INVALID_QUERY_LOCATOR", "invalid query locator") from None
        page = jobs[start:start + LIST_PAGE_SIZE]
        done = start + LIST_PAGE_SIZE >= len(jobs)
        return {
            "done": done,
            "records": [job.listing() for job in page],
            "nextRecordsUrl": None if done else f"{base_url}?queryLocator={encode_position(start + len(page))}",
        }

    # -- ingest data and state -------------------------------------------------------------------------
    def upload(self, job_id: str, data: bytes) -> None:
        """Upload Job Data: kept as sent; read and checked when the job runs."""
        job = self.job("ingest", job_id)
        with self.book.lock:
            if job.state != OPEN:
                raise BulkApiError("INVALIDJOBSTATE", f"Job is not open for uploading data. Current state: "
                                                      f"{job.state}")
            if not data:
                raise BulkApiError("CLIENTINPUTERROR", "No data was uploaded")
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                raise BulkApiError("CLIENTINPUTERROR", "The uploaded data is not UTF-8") from None
            job.upload_count += 1
            if job.upload_count == 1:
                self.book.save_upload(job, text)
            self.book.save(job)

    def change_state(self, kind: str, job_id: str, body: Any) -> dict[str, Any]:
        """Close (UploadComplete) or abort a job, as the PATCH on a job asks; answers the job info then."""
        job = self.job(kind, job_id)
        requested = _object_body(body).get("state")
        if requested not in (OPEN, UPLOAD_COMPLETE, IN_PROGRESS, JOB_COMPLETE, FAILED, ABORTED):
            raise _enum_error("StateEnum", requested)
        with self.book.lock:
            if requested == ABORTED:
                allowed = (OPEN, UPLOAD_COMPLETE, IN_PROGRESS) if kind == "ingest" else (UPLOAD_COMPLETE,
                                                                                          IN_PROGRESS)
                if job.state not in allowed:
                    raise _state_error("Aborting", job.state)
                self._set_state(job, ABORTED)
                return job.summary()
            if requested != UPLOAD_COMPLETE or kind != "ingest":
                raise BulkApiError("INVALIDJOBSTATE", f"Changing the job state to {requested} is not allowed")
            if job.state != OPEN:
                raise _state_error("Closing", job.state)
            if job.upload_count > 1:
                raise BulkApiError(
                    "INVALIDJOB",
                    f"Found multipe contents for job: <{job.id[:15]}>, please 'Close' / 'Abort' / 'Delete' the "
                    "current Job then create a new Job and make sure you only do 'PUT' once on a given Job.",
                )
            self._set_state(job, UPLOAD_COMPLETE)
            closed = job.summary()
        self._start(job)
        return closed

    def delete(self, kind: str, job_id: str) -> None:
        """Delete a Job: only once it is closed, finished or aborted."""
        job = self.job(kind, job_id)
        with self.book.lock:
            if job.state in (OPEN, IN_PROGRESS) or (kind == "query" and job.state == UPLOAD_COMPLETE):
                raise BulkApiError("INVALIDJOBSTATE", f"Deleting a Job in state {job.state} is not allowed")
            self.book.remove(job)

    def _set_state(self, job: BulkJob, state: str, error_message: str | None = None) -> None:
        with self.book.lock:
            job.state = state
            if error_message is not None:
                job.error_message = error_message
            job.system_modstamp = format_datetime(self.org.clock.now())
            self.book.save(job)

    # -- ingest results --------------------------------------------------------------------------------
    def ingest_results(self, job_id: str, kind: str) -> str:
        """The successful, failed or unprocessed records file (header only while nothing is there)."""
        job = self.job("ingest", job_id)
        stored = self.book.load_results(job, kind)
        if stored is not None:
            return stored
        if kind == "unprocessed":
            return self.book.load_upload(job) if job.state in (ABORTED, FAILED) else ""
        return ",".join(f'"{name}"' for name in _RESULT_COLUMNS[kind]) + "\n"

    # -- query results ---------------------------------------------------------------------------------
    def query_results(self, job_id: str, locator: str | None, max_records: str | None) -> tuple[str, int, str]:
        """A page of results: (CSV text, number of records, locator of the next page or ``"null"``)."""
        job = self.job("query", job_id)
        if job.state != JOB_COMPLETE:
            status = {UPLOAD_COMPLETE: "UPLOAD_COMPLETE", IN_PROGRESS: "IN_PROGRESS", ABORTED: "ABORTED",
                      FAILED: "FAILED"}.get(job.state, job.state)
            raise BulkApiError("JOB_NOT_COMPLETE", "can only download query results of successfully completed "
                               f"bulk job with status: JOB_COMPLETE. Current status: {status}", status=412)
        count = DEFAULT_MAX_RECORDS
        if max_records is not None:
            if not max_records.isdigit() or int(max_records) < 1:
                raise BulkApiError("INVALIDQUERYPARAMETER", f"Invalid maxRecords value: {max_records}")
            count = int(max_records)
        start = 0
        if locator:
            try:
                start = decode_position(locator)
            except ValueError:
                raise BulkApiError("INVALID_QUERY_LOCATOR", f"Invalid locator: {locator}") from None
        lines = self.book.load_query_lines(job, start, count)
        end = start + len(lines)
        next_locator = encode_position(end) if end < job.records_processed else "null"
        ending = bulk_csv.LINE_ENDINGS[job.line_ending]
        text = job.result_header + ending + "".join(line + ending for line in lines) if job.result_header else ""
        return text, len(lines), next_locator

    # -- running jobs ----------------------------------------------------------------------------------
    def resume_interrupted(self) -> None:
        """Finish what a restart interrupted (see the module docstring)."""
        for kind in ("ingest", "query"):
            for job in self.book.jobs(kind):
                if job.state == UPLOAD_COMPLETE or (kind == "query" and job.state == IN_PROGRESS):
                    self._start(job)
                elif job.state == IN_PROGRESS:
                    self._set_state(job, FAILED, "InternalServerError : the sandbox restarted while the job "
                                                 "was in progress")

    def _start(self, job: BulkJob) -> None:
        runner = self._run_ingest if job.kind == "ingest" else self._run_query
        thread = threading.Thread(target=self._guarded, args=(runner, job), name=f"bulk-{job.id}", daemon=True)
        self._threads[job.id] = thread
        thread.start()

    def wait(self, job_id: str, timeout: float | None = None) -> None:
        """Block until a job's processing thread ends (tests and shutdown)."""
        thread = self._threads.get(job_id)
        if thread is not None:
            thread.join(timeout)

    def _guarded(self, runner: Any, job: BulkJob) -> None:
        try:
            runner(job)
        except Exception:
            log.exception("bulk job %s failed unexpectedly", job.id)
            if job.state not in FINISHED_STATES:
                self._set_state(job, FAILED, "InternalServerError : an unexpected error occurred")

    def _run_ingest(self, job: BulkJob) -> None:
        if not self._begin(job):
            return
        started = time.monotonic()
        upload = self.book.load_upload(job)
        try:
            if not upload:
                raise JobFailure("ClientInputError : no data was uploaded for this job")
            table = bulk_csv.read_table(upload, job.column_delimiter, job.line_ending)
            object_def = self.org.records.object_def(job.object)
            columns = plan_columns(self.org, object_def, table.header, job.operation)
        except (JobFailure, CsvDataError) as failure:
            self.book.save_results(job, None, None, upload)
            self._set_state(job, FAILED, str(failure))
            return

        def on_row(failed: bool) -> None:
            job.records_processed += 1
            job.records_failed += int(failed)

        run = IngestRun(self.org, object_def, job.operation, job.external_id_field, columns, job.created_by_id)
        outcome = run.run(table, should_stop=lambda: job.state == ABORTED, on_row=on_row)
        job.processing_ms = elapsed_ms(started)
        self._save_ingest_results(job, table.header, outcome)
        with self.book.lock:
            if job.state == IN_PROGRESS:
                self._set_state(job, JOB_COMPLETE)
            else:
                self.book.save(job)

    def _save_ingest_results(self, job: BulkJob, header: list[str], outcome: IngestOutcome) -> None:
        self.book.save_results(
            job,
            bulk_csv.result_file(_RESULT_COLUMNS["successful"], header, outcome.successful),
            bulk_csv.result_file(_RESULT_COLUMNS["failed"], header, outcome.failed),
            bulk_csv.unprocessed_file(header, outcome.unprocessed) if outcome.unprocessed else "",
        )

    def _run_query(self, job: BulkJob) -> None:
        if not self._begin(job):
            return
        started = time.monotonic()
        try:
            header, lines = bulk_query.run(self.org, job.query or "", include_deleted=job.operation == "queryAll",
                                           column_delimiter=job.column_delimiter)
        except SandboxApiError as error:
            self._set_state(job, FAILED, f"{error.error_code} : {error.message}")
            return
        chunks = self.book.save_query_lines(job, lines)
        with self.book.lock:
            job.result_header, job.result_chunks, job.records_processed = header, chunks, len(lines)
            job.processing_ms = elapsed_ms(started)
            if job.state == IN_PROGRESS:
                self._set_state(job, JOB_COMPLETE)
            else:
                self.book.save(job)

    def _begin(self, job: BulkJob) -> bool:
        """Move a job to InProgress unless it was aborted or deleted meanwhile."""
        with self.book.lock:
            if job.state not in (UPLOAD_COMPLETE, IN_PROGRESS) or self.book.get(job.id) is not job:
                return False
            self._set_state(job, IN_PROGRESS)
            return True


def _object_body(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BulkApiError("JSON_PARSER_ERROR", "The request body must be a JSON object")
    return body


def _dialect(body: dict[str, Any]) -> tuple[str, str]:
    content_type = body.get("contentType", "CSV")
    if content_type != "CSV":
        raise BulkApiError("INVALIDJOB", f"Content type {content_type} is not supported by Bulk API 2.0")
    column_delimiter = body.get("columnDelimiter", "COMMA")
    if column_delimiter not in bulk_csv.COLUMN_DELIMITERS:
        raise _enum_error("ColumnDelimiterEnum", column_delimiter)
    line_ending = body.get("lineEnding", "LF")
    if line_ending not in bulk_csv.LINE_ENDINGS:
        raise _enum_error("LineEndingEnum", line_ending)
    return column_delimiter, line_ending


def _state_error(verb: str, state: str) -> BulkApiError:
    word = {JOB_COMPLETE: "Completed"}.get(state, state)
    return BulkApiError("INVALIDJOBSTATE", f"{verb} already {word} Job not allowed")
