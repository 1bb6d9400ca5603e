"""End to end through Bulk API 2.0: above the bulk threshold the hub writes one ingest job instead of
sObject Collections calls, and everything the collections path promises still holds (links, the Salesforce id
column, per-record errors with Salesforce's code, echo suppression), on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests
from sqlalchemy import text
from sqlalchemy.orm import Session
from sync_helpers import Setup

from salesbridge.store import repository as repo

ROWS = 120
BAD_ROW = 100  # outside the rows updated later, so the update batch is all good rows
UPDATED = 60
BULK = "/services/data/v62.0/jobs/ingest"


def record_requests(setup: Setup) -> list[tuple[str, str]]:
    """``(method, path)`` of every request the hub's client makes from now on."""
    seen: list[tuple[str, str]] = []

    def note(response: requests.Response, *args: object, **kwargs: object) -> None:
        seen.append((str(response.request.method), urlsplit(response.request.url).path.rstrip("/")))

    setup.hub.client._conn.http.hooks["response"].append(note)  # the client's session (private: test only)
    return seen


def bulk_jobs(setup: Setup) -> list[dict[str, Any]]:
    """The org's ingest jobs as Bulk API 2.0 lists them (oldest first), asked with a session of the test's own."""
    session = setup.org.http()
    _, token = setup.org.login()
    answer = session.get(setup.org.url + BULK, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert answer.status_code == 200, answer.text
    return sorted(answer.json()["records"], key=lambda job: job["createdDate"])


def job_steps(seen: list[tuple[str, str]]) -> Counter[str]:
    """The Bulk requests by step: create, upload, close, status (polls), results."""
    steps: Counter[str] = Counter()
    for method, path in seen:
        if not path.startswith(BULK):
            continue
        tail = path.removeprefix(BULK).strip("/").split("/")
        if method == "POST" and tail == [""]:
            steps["create"] += 1
        elif method == "PUT" and tail[1:] == ["batches"]:
            steps["upload"] += 1
        elif method == "PATCH" and len(tail) == 1:
            steps["close"] += 1
        elif method == "GET" and len(tail) == 1:
            steps["status"] += 1
        elif method == "GET" and tail[1:] in (["successfulResults"], ["failedResults"], ["unprocessedrecords"]):
            steps[tail[1]] += 1
        else:
            steps[f"{method} {path}"] += 1
    return steps


def test_bulk_path_creates_updates_and_then_rests(make_setup: Callable[..., Setup]) -> None:
    setup = make_setup(bulk_threshold=50)
    with setup.app.begin() as connection:
        connection.execute(text("INSERT INTO leads (first_name, last_name, company, email, stage) "
                                "VALUES (:first, :last, :company, :email, 'New')"),
                           [{"first": f"F{n}", "last": f"Lead {n}", "company": f"Company {n}",
                             "email": "not-an-email" if n == BAD_ROW else f"lead{n}@example.com"}
                            for n in range(1, ROWS + 1)])
    seen = record_requests(setup)

    created = setup.hub.sync()

    assert created.status == "partial"
    result = created.results[0]
    assert (result.written_to_salesforce, result.failed, result.written_to_app) == (ROWS - 1, 1, 0)
    steps = job_steps(seen)
    # One poll of Salesforce's changes (queryAll: deletes too), then one ingest job: create, upload, close,
    # status until finished, the successful results and the failed results. Nothing through sObject Collections.
    assert not [path for _, path in seen if "/composite/" in path]
    assert [path for _, path in seen if not path.startswith(BULK)] == ["/services/data/v62.0/queryAll"]
    assert (steps["create"], steps["upload"], steps["close"]) == (1, 1, 1)
    assert (steps["successfulResults"], steps["failedResults"], steps["unprocessedrecords"]) == (1, 1, 0)
    assert steps["status"] >= 1
    assert sum(steps.values()) + 1 == len(seen) == created.api_calls <= 12
    (job,) = bulk_jobs(setup)
    assert (job["operation"], job["object"], job["state"]) == ("upsert", "Lead", "JobComplete")  # by Hub_Id__c

    leads = setup.sf_leads()
    assert len(leads) == ROWS - 1
    rows = {row["id"]: row for row in setup.app_rows()}
    by_hub_id = {lead["Hub_Id__c"]: lead for lead in leads}
    assert set(by_hub_id) == {str(key) for key in rows if key != BAD_ROW}
    for key, row in rows.items():
        if key != BAD_ROW:
            assert row["sf_id"] == by_hub_id[str(key)]["Id"]
            assert by_hub_id[str(key)]["Email"] == row["email"]
    assert rows[BAD_ROW]["sf_id"] is None
    with Session(setup.hub.engine) as session:
        links = {link.app_key: link.sf_id for link in repo.iter_links(session, "leads")}
        (error,) = repo.open_errors(session)
    assert links == {str(key): row["sf_id"] for key, row in rows.items() if key != BAD_ROW}
    assert (error.error_code, error.fields, error.app_key) == ("INVALID_EMAIL_ADDRESS", ["Email"], str(BAD_ROW))
    assert "not-an-email" in error.message and error.payload["Email"] == "not-an-email"

    setup.app_exec("UPDATE leads SET company = 'Renamed ' || company, stage = 'Qualified' WHERE id <= :n",
                   n=UPDATED)
    seen.clear()

    updated = setup.hub.sync()

    assert updated.status == "succeeded"
    assert (updated.results[0].written_to_salesforce, updated.results[0].written_to_app) == (UPDATED, 0)
    assert updated.results[0].failed == 0
    steps = job_steps(seen)
    assert not [path for _, path in seen if "/composite/" in path]
    assert [path for _, path in seen if not path.startswith(BULK)] == ["/services/data/v62.0/queryAll"]
    assert (steps["create"], steps["upload"], steps["close"], steps["successfulResults"]) == (1, 1, 1, 1)
    assert steps["failedResults"] == 0
    assert sum(steps.values()) + 1 == len(seen) == updated.api_calls <= 12
    second_job = bulk_jobs(setup)[-1]
    assert (second_job["operation"], second_job["object"], second_job["state"]) == ("update", "Lead", "JobComplete")
    leads = {lead["Hub_Id__c"]: lead for lead in setup.sf_leads()}
    for n in range(1, ROWS + 1):
        if n == BAD_ROW:
            continue
        expected = (f"Renamed Company {n}", "Working - Contacted") if n <= UPDATED else (f"Company {n}",
                                                                                        "Open - Not Contacted")
        assert (leads[str(n)]["Company"], leads[str(n)]["Status"]) == expected

    quiet = setup.hub.sync()

    assert quiet.written == 0, "the echoes of both Bulk jobs must not come back as changes"
    assert quiet.api_calls == 1, "a quiet two-way sync is one query"
    assert len(bulk_jobs(setup)) == 2
