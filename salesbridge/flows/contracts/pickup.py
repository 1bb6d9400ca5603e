"""Picking up submitted requests: Account, the contract file (downloaded), then In Review.

Everything is read in batches of up to 200 requests: one query for the Opportunities of requests without an
Account, one for the Accounts' names, one for the file links of all the requests, one for the files' latest
versions. Only the downloads are one call per file: Salesforce serves VersionData one version at a time. A
request that fails (no Account, no file, a file over the limit, a download refused) gets a record error and
stays Submitted; the others go on, and every run tries the Submitted ones again.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.orm import Session

from salesbridge.flows.contracts import errors
from salesbridge.flows.contracts.registry import DOCUMENTS, REQUESTS, now
from salesbridge.salesforce import SalesforceClient, SalesforceError
from salesbridge.salesforce.soql import quote
from salesbridge.sync.config import SALESFORCE_JSON_BLOB_LIMIT, ContractsConfig

BATCH = 200


@dataclass
class PickupResult:
    picked_up: list[int] = field(default_factory=list)  # request ids now In Review
    failed: dict[int, str] = field(default_factory=dict)  # request id -> error code
    downloads: int = 0


@dataclass
class _File:
    version_id: str
    document_id: str
    file_name: str
    size: int
    checksum: str | None


def id_list(ids: Iterable[str]) -> str:
    """Quoted ids for a SOQL IN (...) list."""
    return ", ".join(quote(value) for value in ids)


def pick_up(engine: Engine, client: SalesforceClient, settings: ContractsConfig,
            run_id: int | None = None) -> PickupResult:
    """Pick up every Submitted request; answers which moved to In Review and which failed (with the code)."""
    with engine.connect() as connection:
        requests = [dict(row) for row in connection.execute(
            select(REQUESTS).where(REQUESTS.c.status == "Submitted", REQUESTS.c.sf_id.is_not(None))
            .order_by(REQUESTS.c.id)).mappings()]
    result = PickupResult()
    for start in range(0, len(requests), BATCH):
        _batch(engine, client, settings, run_id, requests[start:start + BATCH], result)
    return result


def _batch(engine: Engine, client: SalesforceClient, settings: ContractsConfig, run_id: int | None,
           requests: list[dict[str, Any]], result: PickupResult) -> None:
    failures: dict[int, tuple[str, str, list[str]]] = {}
    accounts = _accounts(client, requests)
    ready = []
    for request in requests:
        if request["id"] in accounts:
            ready.append(request)
            continue
        where = f"its Opportunity {request['opportunity_id']} has no AccountId" if request["opportunity_id"] \
            else "it has no Opportunity either"
        failures[request["id"]] = (errors.MISSING_ACCOUNT, f"contract request {request['name']} has no Account: "
                                   f"Account__c is empty and {where}", ["Account__c", "Opportunity__c"])
    files = _files(client, [r["sf_id"] for r in ready])
    stored: list[tuple[dict[str, Any], _File, bytes]] = []
    for request in ready:
        chosen = files.get(request["sf_id"])
        if chosen is None:
            failures[request["id"]] = (errors.MISSING_DOCUMENT, f"contract request {request['name']} has no "
                                       "contract file: attach it in Salesforce (Files) and it is picked up at the "
                                       "next run", [])
        elif chosen.size > settings.max_file_bytes:
            failures[request["id"]] = (errors.FILE_TOO_LARGE, _too_large(chosen, settings.max_file_bytes), [])
        else:
            try:
                content = client.version_data(chosen.version_id)
                result.downloads += 1
            except SalesforceError as error:
                failures[request["id"]] = (error.error_code, f"download of {chosen.file_name} "
                                           f"({chosen.version_id}): {error.message}", [])
                continue
            if chosen.checksum and hashlib.md5(content, usedforsecurity=False).hexdigest() != chosen.checksum:
                failures[request["id"]] = (errors.CHECKSUM_MISMATCH, f"{chosen.file_name}: the downloaded bytes do "
                                           "not match Salesforce's checksum", [])
                continue
            stored.append((request, chosen, content))
    _commit(engine, settings.flow, run_id, requests, accounts, stored, failures, result)


def _too_large(chosen: _File, limit: int) -> str:
    return (f"{chosen.file_name} is {chosen.size:,} bytes; the hub keeps contract files of at most {limit:,} bytes "
            f"(contracts.max_file_bytes; at most {SALESFORCE_JSON_BLOB_LIMIT:,}, Salesforce's limit for a file "
            "sent back base64-encoded in JSON)")


def _accounts(client: SalesforceClient, requests: list[dict[str, Any]]) -> dict[int, tuple[str, str | None]]:
    """Request id -> (Account Id, Account name): the request's Account, else its Opportunity's."""
    need_opportunity = sorted({r["opportunity_id"] for r in requests if not r["account_id"] and r["opportunity_id"]})
    opportunity_accounts: dict[str, str] = {}
    if need_opportunity:
        soql = f"SELECT Id, AccountId FROM Opportunity WHERE Id IN ({id_list(need_opportunity)})"
        for record in client.query_all(soql):
            if record.get("AccountId"):
                opportunity_accounts[record["Id"]] = record["AccountId"]
    chosen = {r["id"]: r["account_id"] or opportunity_accounts.get(r["opportunity_id"] or "") for r in requests}
    account_ids = sorted({value for value in chosen.values() if value})
    names: dict[str, str | None] = {}
    if account_ids:
        for record in client.query_all(f"SELECT Id, Name FROM Account WHERE Id IN ({id_list(account_ids)})"):
            names[record["Id"]] = record.get("Name")
    return {key: (value, names.get(value)) for key, value in chosen.items() if value}


def _files(client: SalesforceClient, request_ids: list[str]) -> dict[str, _File]:
    """Request Id -> its contract file: the latest version of the most recently changed linked document."""
    if not request_ids:
        return {}
    links = client.query_all("SELECT ContentDocumentId, LinkedEntityId FROM ContentDocumentLink "
                             f"WHERE LinkedEntityId IN ({id_list(request_ids)})")
    documents: dict[str, list[str]] = {}
    for link in links:
        documents.setdefault(link["LinkedEntityId"], []).append(link["ContentDocumentId"])
    document_ids = sorted({d for ids in documents.values() for d in ids})
    if not document_ids:
        return {}
    versions = {v["ContentDocumentId"]: v for v in client.query_all(
        "SELECT Id, ContentDocumentId, Title, PathOnClient, FileExtension, ContentSize, Checksum, "
        f"ContentModifiedDate FROM ContentVersion WHERE ContentDocumentId IN ({id_list(document_ids)}) "
        "AND IsLatest = true")}
    chosen: dict[str, _File] = {}
    for request_id, ids in documents.items():
        latest = sorted((versions[d] for d in ids if d in versions),
                        key=lambda v: (v.get("ContentModifiedDate") or "", v["Id"]))
        if latest:
            chosen[request_id] = _file(latest[-1])
    return chosen


def _file(version: dict[str, Any]) -> _File:
    path = posixpath.basename(str(version.get("PathOnClient") or "").replace("\\", "/"))
    if not path:
        extension = version.get("FileExtension")
        path = f"{version.get('Title') or 'contract'}{'.' + extension if extension else ''}"
    return _File(version["Id"], version["ContentDocumentId"], path[:255], int(version.get("ContentSize") or 0),
                 version.get("Checksum"))


def _commit(engine: Engine, flow: str, run_id: int | None, requests: list[dict[str, Any]],
            accounts: dict[int, tuple[str, str | None]], stored: list[tuple[dict[str, Any], _File, bytes]],
            failures: dict[int, tuple[str, str, list[str]]], result: PickupResult) -> None:
    """One transaction: documents, In Review (a logged write: the flow sends it) and the errors."""
    by_id = {r["id"]: r for r in requests}
    with Session(engine) as session, session.begin():
        for request, chosen, content in stored:
            stamp = now()
            session.execute(insert(DOCUMENTS).values(
                request_id=request["id"], kind="submitted", file_name=chosen.file_name, size=len(content),
                checksum=hashlib.sha256(content).hexdigest(), content=content,
                sf_content_document_id=chosen.document_id, sf_content_version_id=chosen.version_id,
                created_at=stamp, updated_at=stamp))
            account_id, account_name = accounts[request["id"]]
            session.execute(update(REQUESTS).where(REQUESTS.c.id == request["id"], REQUESTS.c.status == "Submitted")
                            .values(status="In Review", picked_up_at=stamp, company_account_id=account_id,
                                    company_name=account_name, updated_at=stamp))
            errors.resolve(session, errors.pickup_errors(flow), request["id"])
            result.picked_up.append(request["id"])
        for request_id, (code, message, fields) in failures.items():
            errors.record(session, run_id, errors.pickup_errors(flow), by_id[request_id], code, message, fields)
            result.failed[request_id] = code
