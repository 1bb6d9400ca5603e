"""The approver's decision on a request In Review.

Approval makes, in one transaction: the Company Profile when the company is new (one per Salesforce Account),
the Contract Profile, and the submitted document attached to the profile; the request becomes Approved with the
reviewer's comment. Rejection needs a comment and makes nothing. Both are ordinary (logged) writes of the
request, so the flow's next sync sends the status and the comment to Salesforce.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from salesbridge.flows.contracts.registry import COMPANIES, DOCUMENTS, PROFILES, REQUESTS, ContractError, get, now


def _in_review(connection: Connection, request_id: int) -> dict[str, Any]:
    row = connection.execute(select(REQUESTS).where(REQUESTS.c.id == request_id)).mappings().first()
    if row is None:
        raise ContractError("NOT_FOUND", f"no contract request {request_id}")
    if row["status"] != "In Review":
        raise ContractError("INVALID_STATUS", f"contract request {request_id} is {row['status']}; only a request In "
                            "Review is approved or rejected")
    return dict(row)


def _find_company(connection: Connection, account_id: str) -> int | None:
    found = connection.execute(select(COMPANIES.c.id).where(COMPANIES.c.sf_account_id == account_id)).scalar()
    return None if found is None else int(found)


def _company(connection: Connection, account_id: str, name: str | None) -> tuple[int, bool]:
    """The Company Profile of the Salesforce Account: (id, made now)."""
    existing = _find_company(connection, account_id)
    if existing is not None:
        return existing, False
    stamp = now()
    try:
        with connection.begin_nested():  # another approval of the same new company may insert it first
            new_id = connection.execute(insert(COMPANIES).values(
                sf_account_id=account_id, name=name, created_at=stamp, updated_at=stamp,
            ).returning(COMPANIES.c.id)).scalar_one()
    except IntegrityError:
        made_meanwhile = _find_company(connection, account_id)
        assert made_meanwhile is not None, "the unique account id refused the insert"
        return made_meanwhile, False
    return int(new_id), True


def _settle(connection: Connection, request_id: int, values: dict[str, Any]) -> None:
    """Move the request on, unless another approver decided first (the status changed under us)."""
    done = connection.execute(update(REQUESTS).where(REQUESTS.c.id == request_id, REQUESTS.c.status == "In Review")
                              .values(**values, updated_at=now()))
    if done.rowcount != 1:
        raise ContractError("INVALID_STATUS", f"contract request {request_id} was decided meanwhile")


def approve(engine: Engine, request_id: int, reviewer: str, comment: str | None = None) -> dict[str, Any]:
    """Approve: profiles made, the document attached; answers the request with ``company_created``."""
    with engine.begin() as connection:
        request = _in_review(connection, request_id)
        if not request["company_account_id"]:
            raise ContractError("MISSING_ACCOUNT", f"contract request {request_id} has no Account")
        company_id, created = _company(connection, request["company_account_id"], request["company_name"])
        stamp = now()
        profile_id = connection.execute(insert(PROFILES).values(
            request_id=request_id, company_profile_id=company_id, sf_opportunity_id=request["opportunity_id"],
            contract_type=request["contract_type"], start_date=request["start_date"], end_date=request["end_date"],
            contract_value=request["contract_value"], status="Approved", created_at=stamp, updated_at=stamp,
        ).returning(PROFILES.c.id)).scalar_one()
        connection.execute(update(DOCUMENTS).where(DOCUMENTS.c.request_id == request_id,
                                                   DOCUMENTS.c.contract_profile_id.is_(None))
                           .values(contract_profile_id=profile_id, updated_at=stamp))
        _settle(connection, request_id, {"status": "Approved", "reviewer": reviewer,
                                         "reviewer_comment": comment or None, "decided_at": stamp,
                                         "company_profile_id": company_id})
    return {**get(engine, request_id), "company_created": created}


def reject(engine: Engine, request_id: int, reviewer: str, comment: str) -> dict[str, Any]:
    """Reject with a comment (the salesperson reads it on the request); no profile is made."""
    if not comment or not comment.strip():
        raise ContractError("COMMENT_REQUIRED", "a rejection needs a comment saying why")
    with engine.begin() as connection:
        _in_review(connection, request_id)
        _settle(connection, request_id, {"status": "Rejected", "reviewer": reviewer,
                                         "reviewer_comment": comment.strip(), "decided_at": now()})
    return get(engine, request_id)
