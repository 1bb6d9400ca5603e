"""The dashboard's API against a sandbox org: flows with their last run, syncs started in the background and
watched live, record errors (list, payload, retry one or all, ignore), conflicts, the record view with
"sync now", and the API budget."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_support import SF_CLIENT_SECRET, SF_PASSWORD, WebSetup, app_exec, web_setup, write_hub_config
from simple_salesforce import Salesforce

from salesbridge.sandbox.server import RunningSandbox
from salesbridge.store.web_models import Role
from salesbridge.sync.runs import Hub, OnStart, RunReport
from salesbridge.web.background import LiveRun


@pytest.fixture
def web(tmp_path: Path, sandbox: RunningSandbox) -> Iterator[WebSetup]:
    with web_setup(tmp_path) as setup:
        write_hub_config(setup, sandbox)
        yield setup
        setup.state.runs.wait(60)
        setup.client.assert_never_sent(SF_CLIENT_SECRET, SF_PASSWORD)


def add_lead(web: WebSetup, last: str, company: str, stage: str = "New", first: str = "Ann") -> None:
    app_exec(web.app_url, "INSERT INTO leads (first_name, last_name, company, email, stage) "
             "VALUES (:first, :last, :company, :email, :stage)", first=first, last=last, company=company,
             email=f"{first.lower()}@{company.lower()}.example", stage=stage)


def start_and_wait(web: WebSetup, body: dict[str, Any] | None = None) -> dict[str, Any]:
    started = web.client.post("/api/runs", json=body or {}, headers=web.as_role(Role.OPERATOR))
    assert started.status_code == 202, started.text
    assert started.json()["status_url"] == f"/api/runs/{started.json()['run_id']}"
    return web.wait_for_run(started.json()["run_id"])


def test_a_sync_started_from_the_api_runs_in_the_background_and_shows_on_the_dashboard(
        web: WebSetup, sf: Salesforce) -> None:
    viewer = web.as_role(Role.VIEWER)
    add_lead(web, "Lovelace", "Analytical")
    add_lead(web, "Hopper", "Navy")
    sf.Lead.create({"LastName": "Turing", "Company": "Bletchley", "Status": "Working - Contacted"})
    flows = web.client.get("/api/flows", headers=viewer).json()
    assert [(f["name"], f["last_run"], f["open_errors"]) for f in flows] == [("leads", None, 0)]

    run = start_and_wait(web)
    assert run["status"] == "succeeded" and run["trigger"] == "manual" and run["flows"] == ["leads"]
    assert run["live"] is None
    [stats] = run["per_flow"]
    assert (stats["flow"], stats["records_written"]) == ("leads", 3)
    assert stats["api_calls"] > 0 and run["api_calls"] >= stats["api_calls"]

    [flow] = web.client.get("/api/flows", headers=viewer).json()
    assert flow["last_run"]["run_id"] == run["id"] and flow["last_run"]["records_written"] == 3
    assert flow["last_run"]["api_calls"] == stats["api_calls"]
    detail = web.client.get("/api/flows/leads", headers=viewer).json()
    assert detail["last_run"] == flow["last_run"] and "fields" not in detail  # the mapping is for admins
    listed = web.client.get("/api/runs", headers=viewer).json()
    assert listed[0]["id"] == run["id"] and listed[0]["records_written"] == 3
    assert web.client.get("/api/runs?flow=nope", headers=viewer).json() == []
    assert web.client.get("/api/runs/active", headers=viewer).json() is None
    assert web.client.get("/api/runs/999999", headers=viewer).status_code == 404
    unknown = web.client.post("/api/runs", json={"flows": ["nope"]}, headers=web.as_role(Role.OPERATOR))
    assert unknown.status_code == 404 and "known: leads" in unknown.json()["detail"]


def test_a_running_sync_is_watched_live_and_a_second_one_is_refused(web: WebSetup) -> None:
    for index in range(3):
        add_lead(web, f"Person{index}", "Acme")
    reached, gate = threading.Event(), threading.Event()

    def held_sync(hub: Hub, live: LiveRun, on_start: OnStart) -> RunReport:
        def progress_for(flow: str):  # noqa: ANN202
            def advance(stage: str, count: int) -> None:
                live.advance(flow, stage, count)
                reached.set()
                gate.wait(60)

            return advance

        return hub.sync(None, progress=progress_for, on_start=on_start)

    run_id = web.state.runs.start(web.state.hub(), held_sync)
    try:
        assert reached.wait(60)
        active = web.client.get("/api/runs/active", headers=web.as_role(Role.VIEWER)).json()
        assert active["id"] == run_id and active["status"] == "running"
        assert active["live"]["current_flow"] == "leads"
        assert sum(active["live"]["progress"]["leads"].values()) >= 1
        refused = web.client.post("/api/runs", json={}, headers=web.as_role(Role.OPERATOR))
        assert refused.status_code == 409 and f"run {run_id}" in refused.json()["detail"]
        health = web.client.get("/api/health").json()
        assert health["running_run_id"] == run_id
    finally:
        gate.set()
    assert web.wait_for_run(run_id)["status"] == "succeeded"


def test_record_errors_are_listed_with_payload_retried_one_or_all_and_ignored(web: WebSetup) -> None:
    operator, viewer = web.as_role(Role.OPERATOR), web.as_role(Role.VIEWER)
    for name in ("One", "Two", "Three"):
        add_lead(web, name, "Acme", stage="Unheard-of")
    run = start_and_wait(web)
    assert run["status"] == "partial" and run["open_errors"] == 3
    errors = web.client.get("/api/errors", headers=viewer).json()
    assert len(errors) == 3 and {e["error_code"] for e in errors} == {"UNMAPPED_VALUE"}
    assert all("Unheard-of" in e["message"] and e["fields"] == ["Status"] for e in errors)
    by_key = {e["app_key"]: e for e in errors}
    detail = web.client.get(f"/api/errors/{by_key['1']['id']}", headers=viewer).json()
    assert detail["payload"] is not None and "Unheard-of" in str(detail["payload"])
    assert web.client.get("/api/errors?flow=other", headers=viewer).json() == []

    app_exec(web.app_url, "UPDATE leads SET stage = 'New' WHERE id = 1")
    retried = web.client.post(f"/api/errors/{by_key['1']['id']}/retry", headers=operator)
    assert retried.status_code == 202
    assert web.wait_for_run(retried.json()["run_id"])["trigger"] == "retry"
    assert web.client.get(f"/api/errors/{by_key['1']['id']}", headers=viewer).json()["status"] == "resolved"
    again = web.client.post(f"/api/errors/{by_key['1']['id']}/retry", headers=operator)
    assert again.status_code == 409 and "resolved" in again.json()["detail"]

    app_exec(web.app_url, "UPDATE leads SET stage = 'Qualified' WHERE id = 2")
    retried_all = web.client.post("/api/errors/retry", json={"flow": "leads"}, headers=operator)
    assert retried_all.status_code == 202
    web.wait_for_run(retried_all.json()["run_id"])
    still_open = web.client.get("/api/errors", headers=viewer).json()
    assert [(e["app_key"], e["attempts"]) for e in still_open] == [("3", 2)]

    ignored = web.client.post(f"/api/errors/{still_open[0]['id']}/ignore", headers=operator)
    assert ignored.status_code == 200 and ignored.json()["status"] == "ignored"
    assert web.client.get("/api/errors", headers=viewer).json() == []
    assert {e["status"] for e in web.client.get("/api/errors?status=all", headers=viewer).json()} == \
        {"resolved", "ignored"}
    nothing = web.client.post("/api/errors/retry", json={}, headers=operator)
    assert nothing.status_code == 409 and nothing.json()["detail"] == "no open errors to retry"
    assert web.client.post("/api/errors/424242/ignore", headers=operator).status_code == 404


def test_conflicts_show_both_versions_and_the_winner(web: WebSetup, sf: Salesforce) -> None:
    add_lead(web, "Lovelace", "Analytical")
    start_and_wait(web)
    [row_link] = web.client.get("/api/records/leads/links", headers=web.as_role(Role.VIEWER)).json()
    app_exec(web.app_url, "UPDATE leads SET company = 'App Side' WHERE id = 1")
    sf.Lead.update(row_link["sf_id"], {"Company": "Salesforce Side"})
    run = start_and_wait(web)
    [conflict] = web.client.get("/api/conflicts", headers=web.as_role(Role.VIEWER)).json()
    assert conflict["run_id"] == run["id"] and conflict["policy"] == "last_modified_wins"
    assert conflict["app_key"] == "1" and conflict["sf_id"] == row_link["sf_id"]
    assert "App Side" in str(conflict["app_values"]) and "Salesforce Side" in str(conflict["sf_values"])
    assert [c["id"] for c in run["conflicts_found"]] == [conflict["id"]]
    assert web.client.get(f"/api/conflicts?run_id={run['id'] + 100}",
                          headers=web.as_role(Role.VIEWER)).json() == []


def test_the_record_view_shows_both_sides_with_history_and_syncs_now(web: WebSetup, sf: Salesforce) -> None:
    viewer, operator = web.as_role(Role.VIEWER), web.as_role(Role.OPERATOR)
    add_lead(web, "Lovelace", "Analytical")
    start_and_wait(web)
    view = web.client.get("/api/records/leads?app_key=1", headers=viewer).json()
    sf_id = view["sf_id"]
    assert view["link"]["sf_id"] == sf_id and view["app_row"]["last_name"] == "Lovelace"
    assert view["salesforce_record"]["LastName"] == "Lovelace"
    assert view["salesforce_record"]["Status"] == "Open - Not Contacted"
    assert all(pair["same"] for pair in view["fields"]), view["fields"]
    assert [item["summary"] for item in view["history"] if item["kind"] == "event"] == ["created"]
    by_short_id = web.client.get(f"/api/records/leads?sf_id={sf_id[:15]}", headers=viewer).json()
    assert by_short_id["app_key"] == "1" and by_short_id["sf_id"] == sf_id

    app_exec(web.app_url, "UPDATE leads SET stage = 'Qualified' WHERE id = 1")
    changed = web.client.get("/api/records/leads?app_key=1", headers=viewer).json()
    assert {p["salesforce_field"]: p["same"] for p in changed["fields"]}["Status"] is False
    synced = web.client.post("/api/records/leads/sync", json={"app_key": "1"}, headers=operator)
    assert synced.status_code == 200, synced.text
    assert synced.json()["status"] == "succeeded" and synced.json()["written"] == 1
    assert sf.Lead.get(sf_id)["Status"] == "Working - Contacted"
    after = web.client.get("/api/records/leads?app_key=1", headers=viewer).json()
    assert all(pair["same"] for pair in after["fields"])
    assert [item["summary"] for item in after["history"] if item["kind"] == "event"][0] == "updated"

    assert web.client.get("/api/records/leads?app_key=999", headers=viewer).status_code == 404
    assert web.client.get("/api/records/leads?app_key=not-a-number", headers=viewer).status_code == 404
    assert web.client.get("/api/records/leads", headers=viewer).status_code == 422
    assert web.client.get("/api/records/nope?app_key=1", headers=viewer).status_code == 404
    both = web.client.post("/api/records/leads/sync", json={"app_key": "1", "sf_id": sf_id}, headers=operator)
    assert both.status_code == 422


def test_the_budget_is_the_orgs_daily_allowance(web: WebSetup, sandbox: RunningSandbox) -> None:
    budget = web.client.get("/api/budget", headers=web.as_role(Role.VIEWER)).json()
    assert budget["max"] == sandbox.org.settings.daily_api_limit
    assert 0 < budget["remaining"] < budget["max"] and budget["used"] == budget["max"] - budget["remaining"]
    assert budget["stop_share"] == 0.9 and "DailyApiRequests" in budget["limits"]


def test_without_a_valid_config_the_hub_endpoints_answer_503(tmp_path: Path) -> None:
    with web_setup(tmp_path) as web:
        missing = web.client.get("/api/flows", headers=web.as_role(Role.VIEWER))
        assert missing.status_code == 503 and "no configuration file yet" in missing.json()["detail"]
        web.config_path.write_text("connections: {}\nflows: []\n", encoding="utf-8")
        invalid = web.client.get("/api/runs", headers=web.as_role(Role.VIEWER))
        assert invalid.status_code == 503 and "connections.salesforce" in invalid.json()["detail"]
        anonymous = web.client.get("/api/health").json()
        assert anonymous["configured"] is False and anonymous["problem"] is None  # no details for strangers
        told = web.client.get("/api/health", headers=web.as_role(Role.VIEWER)).json()
        assert "connections.salesforce" in told["problem"]
