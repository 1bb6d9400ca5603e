"""Per-request record errors of the contracts module's own steps (pickup, sharing), kept with the flow's.

They are RecordErrors like the sync core's: code, message, the request's keys and a payload, shown and retried
from the CLI, API and dashboard; every contracts run tries the failed requests again, and resolves their errors
once they get through.
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


def record(session: Session, run_id: int | None, flow: str, request: dict[str, Any], code: str, message: str,
           fields: list[str], *, direction: str = "from_salesforce", operation: str = "update",
           payload: dict[str, Any] | None = None) -> None:
    """Store (or bump) the request's error; a request keeps one open error per direction."""
    repo.record_error(session, run_id, flow, direction, operation, request["id"], request.get("sf_id"), code,
                      message, fields, payload or {"request": request.get("name"), "sf_id": request.get("sf_id")})


def resolve(session: Session, flow: str, request_id: int, direction: str, operation: str | None = None) -> int:
    """Resolve the request's open errors of one direction once a step in that direction got it through:
    pickup (from Salesforce) settles what kept the request from coming in, sharing (to Salesforce) what kept
    its documents from going out (``operation`` "create": not the status updates the sync core sends)."""
    query = select(RecordError.id).where(RecordError.flow == flow, RecordError.app_key == str(request_id),
                                         RecordError.status.in_(_UNRESOLVED), RecordError.direction == direction)
    if operation is not None:
        query = query.where(RecordError.operation == operation)
    return repo.mark_errors_resolved(session, session.scalars(query).all())
