"""``/api/pipeline`` and the Pipeline page against a sandbox org: operators add, move, transfer and delete
records and sync; viewers read records, events and errors."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote_plus

import pytest
from api_support import SF_CLIENT_SECRET, SF_PASSWORD, WebSetup, connections, web_setup, write_config
from fastapi.testclient import TestClient

from salesbridge.demo import demo_schema_file
from salesbridge.flows.pipeline.recipe import sandbox_schema_file, with_pipeline
from salesbridge.sandbox.server import RunningSandbox, start_in_thread
from salesbridge.store.web_models import Role


@pytest.fixture
def pipeline_org() -> Iterator[RunningSandbox]:
    running = start_in_thread(schema_files=(demo_schema_file(), sandbox_schema_file()))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def web(tmp_path: Path, pipeline_org: RunningSandbox) -> Iterator[WebSetup]:
    with web_setup(tmp_path) as setup:
        setup.app_url = f"sqlite:///{tmp_path / 'app.db'}"
        write_config(setup, with_pipeline(connections(pipeline_org, setup.app_url)))
        yield setup
        setup.client.assert_never_sent(SF_CLIENT_SECRET, SF_PASSWORD)


def test_records_events_and_errors_through_the_api(web: WebSetup) -> None:
    operator, viewer = web.as_role(Role.OPERATOR), web.as_role(Role.VIEWER)
    api = web.client
    assert api.post("/api/pipeline/leads", json={"last_name": "Lee", "company": "Lee Ltd"},
                    headers=viewer).status_code == 403
    company = api.post("/api/pipeline/companies", json={"name": "Acme"}, headers=operator).json()
    contact = api.post("/api/pipeline/contacts", json={"last_name": "Doe", "company_id": company["id"]},
                       headers=operator)
    assert contact.status_code == 201, contact.text
    lead = api.post("/api/pipeline/leads", json={"last_name": "Lee", "company": "Lee Ltd", "stage": "Qualified"},
                    headers=operator).json()
    assert (lead["stage"], lead["linked_id"]) == ("Qualified", None)
    bad_stage = api.post("/api/pipeline/leads", json={"last_name": "X", "company": "X", "stage": "On Hold"},
                         headers=operator)
    assert bad_stage.status_code == 422 and "INVALID_STAGE" in bad_stage.json()["detail"]
    wrong_column = api.post("/api/pipeline/companies", json={"name": "Y", "stage": "New"}, headers=operator)
    assert wrong_column.status_code == 422 and "'stage' cannot be set" in wrong_column.json()["detail"]
    no_company = api.post("/api/pipeline/contacts", json={"last_name": "Z", "company_id": 999}, headers=operator)
    assert no_company.status_code == 404
    assert api.get("/api/pipeline/leads/999", headers=viewer).status_code == 404
    assert api.get("/api/pipeline/widgets", headers=viewer).status_code == 422

    synced = api.post("/api/pipeline/sync", headers=operator)
    assert synced.status_code == 200, synced.text
    assert (synced.json()["status"], synced.json()["written"]) == ("succeeded", 3)
    lead = api.get(f"/api/pipeline/leads/{lead['id']}", headers=viewer).json()
    assert lead["sf_object"] == "Lead" and lead["owner_email"] == "sales.manager@sandbox.example"

    moved = api.patch(f"/api/pipeline/leads/{lead['id']}", json={"stage": "Won"}, headers=operator)
    assert moved.json()["stage"] == "Won"
    api.post("/api/pipeline/sync", headers=operator)
    assert api.get(f"/api/pipeline/leads/{lead['id']}", headers=viewer).json()["sf_object"] == "Contact"
    won = api.get("/api/pipeline/events", params={"kind": "leads", "record_id": lead["id"], "event": ["won"]},
                  headers=viewer).json()
    assert [(e["kind"], e["origin"], e["details"]["stage"]) for e in won] == [("won", "app", "Won")]
    assert api.get("/api/pipeline/events", params={"record_id": 1}, headers=viewer).status_code == 422

    assert api.patch(f"/api/pipeline/leads/{lead['id']}", json={"owner_email": "nobody@x.example"},
                     headers=operator).status_code == 200
    assert api.post("/api/pipeline/sync", headers=operator).json()["failed"] == 1
    (error,) = api.get("/api/pipeline/errors", headers=viewer).json()
    assert (error["error_code"], error["record_id"]) == ("UNKNOWN_USER", str(lead["id"]))

    assert api.delete(f"/api/pipeline/companies/{company['id']}", headers=operator).status_code == 204
    assert company["id"] not in [c["id"] for c in api.get("/api/pipeline/companies", headers=viewer).json()]


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def test_the_pipeline_page_adds_moves_transfers_syncs_and_shows_events(web: WebSetup) -> None:
    web.add_user("seller", Role.OPERATOR)
    web.login(web.client, "seller")
    page = web.client.get("/pipeline")
    assert page.status_code == 200 and "No leads yet." in page.text
    csrf = CSRF.search(page.text).group(1)  # type: ignore[union-attr]

    def post(path: str, data: dict[str, str]) -> str:
        answer = web.client.post(path, data={"csrf_token": csrf, **data}, follow_redirects=False)
        assert answer.status_code == 303, answer.text[:500]
        return unquote_plus(answer.headers["location"])

    assert "Company 1 added." in post("/pipeline/companies", {"name": "Acme"})
    assert "Contact 1 added." in post("/pipeline/contacts", {"last_name": "Doe", "company_id": "1"})
    assert "Lead 1 added." in post("/pipeline/leads", {"last_name": "Lee", "company": "Lee Ltd", "stage": "New"})
    assert "Not added: leads: company is required" in post("/pipeline/leads", {"last_name": "Lee", "company": ""})
    assert "Pipeline synced" in post("/pipeline-sync", {})
    assert "Lead 1 is Lost" in post("/pipeline/leads/1", {"stage": "Lost"})
    assert "owned by admin@sandbox.example" in post("/pipeline/leads/1", {"owner_email": "admin@sandbox.example"})
    assert "Pipeline synced" in post("/pipeline-sync", {})
    listed = web.client.get("/pipeline").text
    assert "Lead <a" in listed and "Account <span" in listed and 'id="pipeline-events"' in listed
    events = listed.split('id="pipeline-events"', 1)[1]
    assert "lost" in events and "transferred" in events and "the tool" in events
    assert "Lead 1 deleted; Salesforce follows" in post("/pipeline/leads/1/delete", {})

    web.add_user("reader", Role.VIEWER)
    reader = TestClient(web.app)
    web.login(reader, "reader")
    seen = reader.get("/pipeline")
    assert seen.status_code == 200 and 'id="add-lead"' not in seen.text and "Acme" in seen.text
