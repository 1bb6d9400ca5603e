"""Per-request record errors of the contracts module's own steps: pickup and sharing.

They are RecordErrors like the sync core's (code, message, the request's keys, a payload), shown by the CLI, API
and dashboard, under the names ``<flow>.pickup`` and ``<flow>.documents``. Their own names keep the sync core
from resolving them when it writes the same request for another reason, and keep ``salesbridge retry`` from
re-reading the request for nothing: like mail's errors, they are retried by the module's next round, which
counts the attempts and resolves them once the request gets through.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from salesbridge.store import repository as repo
from salesbridge.store.models import RecordError

MISSING_ACCOUNT = "MISSING_ACCOUNT"
MISSING_DOCUMENT = "MISSING_DOCUMENT"
FILE_TOO_LARGE = "FILE_TOO_LARGE"
CHECKSUM_MISMATCH = "CHECKSUM_MISMATCH"
_UNRESOLVED = ("open", "retrying")


def pickup_errors(flow: str) -> str:
    """The error flow name of pickup failures (missing Account, file, too large...)."""
    return f"{flow}.pickup"


def document_errors(flow: str) -> str:
    """The error flow name of documents Salesforce refused (links, uploads)."""
    return f"{flow}.documents"


def record(session: Session, run_id: int | None, flow: str, request: dict[str, Any], code: str, message: str,
           fields: list[str], *, direction: str = "from_salesforce", operation: str = "update",
           payload: dict[str, Any] | None = None) -> None:
    """Store (or bump) the request's error; a request keeps one open error per direction."""
    repo.record_error(session, run_id, flow, direction, operation, request["id"], request.get("sf_id"), code,
                      message, fields, payload or {"request": request.get("name"), "sf_id": request.get("sf_id")})


def resolve(session: Session, flow: str, request_id: int) -> int:
    """Resolve the request's open errors under ``flow`` (one of the names above) once the step got it through."""
    query = select(RecordError.id).where(RecordError.flow == flow, RecordError.app_key == str(request_id),
                                         RecordError.status.in_(_UNRESOLVED))
    return repo.mark_errors_resolved(session, session.scalars(query).all())
