"""Bulk API 2.0 over HTTP: ingest jobs (``jobs/ingest``) and query jobs (``jobs/query``).

The routes only translate HTTP to ``BulkService`` calls and back; behaviour lives in ``bulk_service``. Errors
are Bulk API 2.0's JSON lists ``[{"errorCode", "message"}]``. Deleting a job answers 204 with no body, as the
Bulk API 2.0 guide documents (simple-salesforce's private ``_Bulk2Client.delete_job`` expects JSON there and
fails against a real org just the same).
"""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from salesbridge.sandbox.bulk_jobs import BulkApiError
from salesbridge.sandbox.bulk_service import BulkService, bulk_service, not_found
from salesbridge.sandbox.http import OrgDep, UserDep
from salesbridge.sandbox.org import Org

router = APIRouter()

_BASE = "/services/data/v{version}/jobs"
_VERSION_RE = re.compile(r"^(\d{2,3})\.0$")
#: Bulk API 2.0 ingest arrived in 41.0, query jobs in 47.0.
_FIRST_VERSION = {"ingest": 41, "query": 47}
_CSV = "text/csv"


def _service(org: Org, version: str, kind: str) -> tuple[BulkService, float]:
    """The org's Bulk service and the request's API version (404 for a version without Bulk API 2.0)."""
    match = _VERSION_RE.match(version)
    newest = int(float(org.api_version))
    if not match or not _FIRST_VERSION[kind] <= int(match.group(1)) <= newest:
        raise not_found()
    return bulk_service(org), float(match.group(1))


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError) as error:
        raise BulkApiError("JSON_PARSER_ERROR", f"Unexpected character in the request body: {error}") from None


def _csv(text: str, headers: dict[str, str] | None = None) -> Response:
    return Response(text.encode("utf-8"), media_type=_CSV, headers=headers)


# -- ingest ------------------------------------------------------------------------------------------
@router.post(_BASE + "/ingest")
@router.post(_BASE + "/ingest/")
async def create_ingest_job(version: str, request: Request, org: OrgDep, user_id: UserDep) -> JSONResponse:
    service, api_version = _service(org, version, "ingest")
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        body, data = await _multipart_job(request)
        created = await run_in_threadpool(service.create_ingest_job_with_data, body, data, user_id, api_version)
        return JSONResponse(created)
    body = await _json_body(request)
    job = await run_in_threadpool(service.create_ingest_job, body, user_id, api_version)
    return JSONResponse(job.summary())


async def _multipart_job(request: Request) -> tuple[Any, bytes]:
    """The ``job`` (JSON) and ``content`` (CSV) parts of a multipart Create Job request."""
    form = await request.form()
    job_part, content_part = form.get("job"), form.get("content")
    if job_part is None or content_part is None:
        raise BulkApiError("CLIENTINPUTERROR", "A multipart job request needs a 'job' part and a 'content' part")
    job_text = job_part if isinstance(job_part, str) else (await job_part.read()).decode("utf-8", "replace")
    data = content_part.encode() if isinstance(content_part, str) else await content_part.read()
    try:
        return json.loads(job_text), data
    except ValueError as error:
        raise BulkApiError("JSON_PARSER_ERROR", f"Unexpected character in the job part: {error}") from None


@router.get(_BASE + "/ingest")
@router.get(_BASE + "/ingest/")
def list_ingest_jobs(version: str, request: Request, org: OrgDep, user_id: UserDep) -> JSONResponse:
    service, _ = _service(org, version, "ingest")
    base_url = f"/services/data/v{version}/jobs/ingest"
    return JSONResponse(service.listing("ingest", base_url, dict(request.query_params)))


@router.get(_BASE + "/ingest/{job_id}")
@router.get(_BASE + "/ingest/{job_id}/")
def get_ingest_job(version: str, job_id: str, org: OrgDep, user_id: UserDep) -> JSONResponse:
    service, _ = _service(org, version, "ingest")
    return JSONResponse(service.job("ingest", job_id).detail())


@router.put(_BASE + "/ingest/{job_id}/batches")
@router.put(_BASE + "/ingest/{job_id}/batches/")
async def upload_job_data(version: str, job_id: str, request: Request, org: OrgDep, user_id: UserDep) -> Response:
    service, _ = _service(org, version, "ingest")
    data = await request.body()
    await run_in_threadpool(service.upload, job_id, data)
    return Response(status_code=201)


@router.patch(_BASE + "/ingest/{job_id}")
@router.patch(_BASE + "/ingest/{job_id}/")
async def change_ingest_job(version: str, job_id: str, request: Request, org: OrgDep,
                            user_id: UserDep) -> JSONResponse:
    service, _ = _service(org, version, "ingest")
    body = await _json_body(request)
    return JSONResponse(await run_in_threadpool(service.change_state, "ingest", job_id, body))


@router.delete(_BASE + "/ingest/{job_id}")
@router.delete(_BASE + "/ingest/{job_id}/")
def delete_ingest_job(version: str, job_id: str, org: OrgDep, user_id: UserDep) -> Response:
    service, _ = _service(org, version, "ingest")
    service.delete("ingest", job_id)
    return Response(status_code=204)


def _results_route(path: str, kind: str) -> None:
    def results(version: str, job_id: str, org: OrgDep, user_id: UserDep) -> Response:
        service, _ = _service(org, version, "ingest")
        return _csv(service.ingest_results(job_id, kind))

    results.__name__ = f"get_{kind}_records_{path.lower()}"
    for suffix in ("", "/"):
        router.add_api_route(f"{_BASE}/ingest/{{job_id}}/{path}{suffix}", results, methods=["GET"])


_results_route("successfulResults", "successful")
_results_route("failedResults", "failed")
# The guide's spelling, and the camel case simple-salesforce and other clients send.
_results_route("unprocessedrecords", "unprocessed")
_results_route("unprocessedRecords", "unprocessed")


# -- query -------------------------------------------------------------------------------------------
@router.post(_BASE + "/query")
@router.post(_BASE + "/query/")
async def create_query_job(version: str, request: Request, org: OrgDep, user_id: UserDep) -> JSONResponse:
    service, api_version = _service(org, version, "query")
    body = await _json_body(request)
    return JSONResponse(await run_in_threadpool(service.create_query_job, body, user_id, api_version))


@router.get(_BASE + "/query")
@router.get(_BASE + "/query/")
def list_query_jobs(version: str, request: Request, org: OrgDep, user_id: UserDep) -> JSONResponse:
    service, _ = _service(org, version, "query")
    base_url = f"/services/data/v{version}/jobs/query"
    return JSONResponse(service.listing("query", base_url, dict(request.query_params)))


@router.get(_BASE + "/query/{job_id}")
@router.get(_BASE + "/query/{job_id}/")
def get_query_job(version: str, job_id: str, org: OrgDep, user_id: UserDep) -> JSONResponse:
    service, _ = _service(org, version, "query")
    return JSONResponse(service.job("query", job_id).detail())


@router.get(_BASE + "/query/{job_id}/results")
@router.get(_BASE + "/query/{job_id}/results/")
def get_query_results(version: str, job_id: str, request: Request, org: OrgDep, user_id: UserDep) -> Response:
    service, _ = _service(org, version, "query")
    params = request.query_params
    text, count, locator = service.query_results(job_id, params.get("locator"), params.get("maxRecords"))
    return _csv(text, {"Sforce-NumberOfRecords": str(count), "Sforce-Locator": locator})


@router.patch(_BASE + "/query/{job_id}")
@router.patch(_BASE + "/query/{job_id}/")
async def change_query_job(version: str, job_id: str, request: Request, org: OrgDep,
                           user_id: UserDep) -> JSONResponse:
    service, _ = _service(org, version, "query")
    body = await _json_body(request)
    return JSONResponse(await run_in_threadpool(service.change_state, "query", job_id, body))


@router.delete(_BASE + "/query/{job_id}")
@router.delete(_BASE + "/query/{job_id}/")
def delete_query_job(version: str, job_id: str, org: OrgDep, user_id: UserDep) -> Response:
    service, _ = _service(org, version, "query")
    service.delete("query", job_id)
    return Response(status_code=204)
