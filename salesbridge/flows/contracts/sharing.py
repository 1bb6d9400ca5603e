"""Documents back to Salesforce, so that the salesperson sees them on the Opportunity.

A document Salesforce already has (the submitted file) is shared with a ContentDocumentLink to the
Opportunity: all links of a run go in sObject Collections calls of up to 200. A document only the hub holds (a
signed copy) is uploaded as a new ContentVersion with FirstPublishLocationId = the Opportunity, one call per
file (a JSON request carries one base64 file of at most 37.5 MB), and linked to the request too. Without an
Opportunity the document goes to the request's Account. A link that already exists (DUPLICATE_VALUE) counts
as done; any other refusal is a record error of the request, and the next run tries again.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from salesbridge.connectors.sql import hub_writes
from salesbridge.flows.contracts import errors
from salesbridge.flows.contracts.pickup import BATCH, id_list
from salesbridge.flows.contracts.registry import DOCUMENTS, PROFILES, REQUESTS, now
from salesbridge.salesforce import SalesforceClient, WriteResult


@dataclass
class ShareResult:
    linked: list[int] = field(default_factory=list)  # document ids now on the Opportunity (or Account)
    uploaded: list[int] = field(default_factory=list)  # document ids uploaded as new files
    failed: dict[int, str] = field(default_factory=dict)  # document id -> error code


def pending(engine: Engine) -> list[dict[str, Any]]:
    """Profile documents not yet shared, with where they go."""
    query = (select(DOCUMENTS.c.id, DOCUMENTS.c.request_id, DOCUMENTS.c.kind, DOCUMENTS.c.file_name,
                    DOCUMENTS.c.content, DOCUMENTS.c.sf_content_document_id, DOCUMENTS.c.sf_content_version_id,
                    REQUESTS.c.sf_id.label("request_sf_id"), REQUESTS.c.name.label("request_name"),
                    PROFILES.c.sf_opportunity_id, REQUESTS.c.company_account_id)
             .join(PROFILES, PROFILES.c.id == DOCUMENTS.c.contract_profile_id)
             .join(REQUESTS, REQUESTS.c.id == DOCUMENTS.c.request_id)
             .where(DOCUMENTS.c.shared_at.is_(None)).order_by(DOCUMENTS.c.id))
    with engine.connect() as connection:
        return [dict(row) for row in connection.execute(query).mappings()]


def share_documents(engine: Engine, client: SalesforceClient, flow: str, run_id: int | None = None) -> ShareResult:
    result = ShareResult()
    documents = pending(engine)
    failures: dict[int, tuple[str, str]] = {}
    for document in documents:
        document["target"] = document["sf_opportunity_id"] or document["company_account_id"]
    uploads = [d for d in documents if not d["sf_content_version_id"]]
    for document in uploads:  # one file a call
        (answer,) = client.create("ContentVersion", [{
            "Title": document["file_name"].rsplit(".", 1)[0] or document["file_name"],
            "PathOnClient": document["file_name"], "FirstPublishLocationId": document["target"],
            "VersionData": base64.b64encode(bytes(document["content"])).decode("ascii"),
            "Description": f"{document['kind']} contract for {document['request_name']} (salesbridge)"}])
        if _failed(answer, document, failures):
            continue
        document["sf_content_version_id"] = answer.id
        result.uploaded.append(document["id"])
    new_versions = [d["sf_content_version_id"] for d in uploads if d["id"] in result.uploaded]
    for start in range(0, len(new_versions), BATCH):
        chunk = new_versions[start:start + BATCH]
        found = {v["Id"]: v["ContentDocumentId"] for v in client.query_all(
            f"SELECT Id, ContentDocumentId FROM ContentVersion WHERE Id IN ({id_list(chunk)})")}
        for document in uploads:
            if document["sf_content_version_id"] in found:
                document["sf_content_document_id"] = found[document["sf_content_version_id"]]
    links: list[tuple[dict[str, Any], str, bool]] = []  # (document, entity, is the target link)
    for document in documents:
        if document["id"] in failures or not document["sf_content_document_id"]:
            continue
        if document["id"] in result.uploaded:  # FirstPublishLocationId linked the target already
            links.append((document, document["request_sf_id"], False))
        else:
            links.append((document, document["target"], True))
    for start in range(0, len(links), BATCH):
        chunk = links[start:start + BATCH]
        answers = client.create("ContentDocumentLink", [
            {"ContentDocumentId": d["sf_content_document_id"], "LinkedEntityId": entity, "ShareType": "V",
             "Visibility": "AllUsers"} for d, entity, _ in chunk])
        for (document, _entity, is_target), answer in zip(chunk, answers, strict=True):
            if answer.success and is_target:
                document["link_id"] = answer.id
            if not answer.success and not _duplicate(answer):
                _failed(answer, document, failures)
    _commit(engine, flow, run_id, documents, failures, result)
    return result


def _duplicate(answer: WriteResult) -> bool:
    return any(error.error_code == "DUPLICATE_VALUE" for error in answer.errors)


def _failed(answer: WriteResult, document: dict[str, Any], failures: dict[int, tuple[str, str]]) -> bool:
    if answer.success:
        return False
    error = answer.errors[0] if answer.errors else None
    failures[document["id"]] = (error.error_code if error else "UNKNOWN",
                                f"{document['file_name']}: {error.message if error else 'no error returned'}")
    return True


def _commit(engine: Engine, flow: str, run_id: int | None, documents: list[dict[str, Any]],
            failures: dict[int, tuple[str, str]], result: ShareResult) -> None:
    with Session(engine) as session, session.begin():
        hub_writes(session)
        for document in documents:
            values: dict[str, Any] = {"sf_content_version_id": document["sf_content_version_id"],
                                      "sf_content_document_id": document["sf_content_document_id"]}
            if document["id"] not in failures:
                values.update(shared_at=now(), sf_opportunity_link_id=document.get("link_id"))
                result.linked.append(document["id"])
            session.execute(update(DOCUMENTS).where(DOCUMENTS.c.id == document["id"]).values(**values))
        failed_requests = set()
        for document in documents:
            if document["id"] in failures:
                code, message = failures[document["id"]]
                result.failed[document["id"]] = code
                failed_requests.add(document["request_id"])
                request = {"id": document["request_id"], "sf_id": document["request_sf_id"],
                           "name": document["request_name"]}
                errors.record(session, run_id, errors.document_errors(flow), request, code, message, [],
                              direction="to_salesforce", operation="create",
                              payload={"document_id": document["id"], "file_name": document["file_name"]})
        for request_id in {d["request_id"] for d in documents} - failed_requests:
            errors.resolve(session, errors.document_errors(flow), request_id)
