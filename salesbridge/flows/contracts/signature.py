"""Negotiation and e-signature as a state with a hook, not a fake signature service.

Out for Signature: the request moves there and the configured webhook (``contracts.signature_webhook``) gets a
JSON POST saying which request and document to sign; the delivery is recorded on the request (delivered,
failed with why, attempts) and a failed one is sent again on asking. Whatever does the signing answers at
``POST /api/contracts/{id}/signed`` (optionally with the signed file): the request is Signed, the signed copy
kept as a document of the Contract Profile, and the next contracts run sends it to Salesforce.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.orm import Session

from salesbridge.connectors.sql import hub_writes
from salesbridge.flows.contracts.registry import (
    DOCUMENT_FIELDS,
    DOCUMENTS,
    PROFILES,
    REQUESTS,
    ContractError,
    get,
    now,
    profile_of,
)
from salesbridge.sync.config import ContractsConfig

Post = Callable[..., httpx.Response]
EVENT = "contract_request.out_for_signature"


def payload(engine: Engine, request: dict[str, Any]) -> dict[str, Any]:
    """What the signature service is told: the request, its company and documents, where to answer."""
    with engine.connect() as connection:
        documents = [dict(row) for row in connection.execute(
            select(*DOCUMENT_FIELDS).where(DOCUMENTS.c.request_id == request["id"]).order_by(DOCUMENTS.c.id)
        ).mappings()]
    profile = profile_of(engine, request["id"]) or {}
    return {
        "event": EVENT,
        "request": {"id": request["id"], "name": request["name"], "salesforce_id": request["sf_id"],
                    "opportunity_id": request["opportunity_id"], "account_id": request["company_account_id"],
                    "company": request["company_name"], "contract_type": request["contract_type"],
                    "start_date": _text(request["start_date"]), "end_date": _text(request["end_date"]),
                    "contract_value": _text(request["contract_value"]), "reviewer": request["reviewer"],
                    "reviewer_comment": request["reviewer_comment"]},
        "contract_profile_id": profile.get("id"),
        "documents": [{"id": d["id"], "kind": d["kind"], "file_name": d["file_name"], "size": d["size"],
                       "sha256": d["checksum"], "url": f"/api/contracts/{request['id']}/documents/{d['id']}"}
                      for d in documents],
        "signed_callback": f"/api/contracts/{request['id']}/signed",
    }


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def send_for_signature(engine: Engine, request_id: int, settings: ContractsConfig,
                       post: Post | None = None) -> dict[str, Any]:
    """Move an Approved request Out for Signature and tell the webhook; called again, re-send a failed hook."""
    request = get(engine, request_id)
    if request["status"] == "Approved":
        with engine.begin() as connection:  # a logged write: the flow sends the status
            moved = connection.execute(update(REQUESTS).where(REQUESTS.c.id == request_id,
                                                              REQUESTS.c.status == "Approved")
                                       .values(status="Out for Signature", webhook_state="pending",
                                               webhook_error=None, updated_at=now()))
            if moved.rowcount != 1:
                raise ContractError("INVALID_STATUS", f"contract request {request_id} changed meanwhile")
    elif request["status"] != "Out for Signature" or request["webhook_state"] == "delivered":
        raise ContractError("INVALID_STATUS", f"contract request {request_id} is {request['status']}"
                            f"{' (webhook delivered)' if request['webhook_state'] == 'delivered' else ''}; only "
                            "an Approved request goes out for signature, and only a failed webhook is re-sent")
    return deliver_webhook(engine, request_id, settings, post)


def deliver_webhook(engine: Engine, request_id: int, settings: ContractsConfig,
                    post: Post | None = None) -> dict[str, Any]:
    """POST the payload once; the outcome is recorded on the request (a hub write: nothing to sync)."""
    request = get(engine, request_id)
    if not settings.signature_webhook:
        state, error = "none", "no contracts.signature_webhook configured: the signature is followed by hand"
    else:
        try:
            answer = (post or httpx.post)(settings.signature_webhook, json=payload(engine, request),
                                          timeout=settings.webhook_timeout_seconds)
            if 200 <= answer.status_code < 300:
                state, error = "delivered", None
            else:
                state, error = "failed", f"HTTP {answer.status_code}: {answer.text[:300]}"
        except httpx.HTTPError as failure:
            state, error = "failed", f"{type(failure).__name__}: {failure}"
    with Session(engine) as session, session.begin():
        hub_writes(session)
        session.execute(update(REQUESTS).where(REQUESTS.c.id == request_id).values(
            webhook_state=state, webhook_error=error,
            webhook_attempts=REQUESTS.c.webhook_attempts + (0 if state == "none" else 1)))
    return get(engine, request_id)


def mark_signed(engine: Engine, request_id: int, settings: ContractsConfig, file_name: str | None = None,
                content: bytes | None = None) -> dict[str, Any]:
    """The signature came back: Signed, with the signed copy (when given) kept on the Contract Profile."""
    if content is not None and len(content) > settings.max_file_bytes:
        raise ContractError("FILE_TOO_LARGE", f"the signed file is {len(content):,} bytes; at most "
                            f"{settings.max_file_bytes:,} (contracts.max_file_bytes)")
    request = get(engine, request_id)
    if request["status"] not in ("Out for Signature", "Approved"):
        raise ContractError("INVALID_STATUS", f"contract request {request_id} is {request['status']}; only a "
                            "request Out for Signature (or Approved) is signed")
    profile = profile_of(engine, request_id)
    assert profile is not None, "an approved request has a contract profile"
    stamp = now()
    with engine.begin() as connection:
        if content is not None:
            connection.execute(insert(DOCUMENTS).values(
                request_id=request_id, contract_profile_id=profile["id"], kind="signed",
                file_name=(file_name or f"{request['name'] or request_id}-signed.pdf")[:255], size=len(content),
                checksum=hashlib.sha256(content).hexdigest(), content=content, created_at=stamp, updated_at=stamp))
        connection.execute(update(PROFILES).where(PROFILES.c.id == profile["id"])
                           .values(status="Signed", updated_at=stamp))
        connection.execute(update(REQUESTS).where(REQUESTS.c.id == request_id)
                           .values(status="Signed", signed_at=stamp, updated_at=stamp))
    return get(engine, request_id)
