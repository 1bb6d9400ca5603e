"""The admin pages over HTTP (TestClient): login, the five wizard steps against a sandbox org, the config
file's import/export, the dashboard with sync, errors and retry, and the record view. The browser tests
(test_browser.py) walk the same pages in Chromium; these check what the server answers in detail."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from api_support import (
    PASSWORD,
    SF_CLIENT_SECRET,
    SF_PASSWORD,
    WebSetup,
    app_exec,
    create_leads_table,
    web_setup,
    write_hub_config,
)

from salesbridge.demo import demo_schema_file
from salesbridge.sandbox.server import RunningSandbox, start_in_thread
from salesbridge.store.web_models import Role
from salesbridge.sync.runs import Hub, OnStart, RunReport
from salesbridge.web import wizard
from salesbridge.web.background import LiveRun

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def org() -> Iterator[RunningSandbox]:
    """A sandbox org with the example schema (Hub_Id__c external ids, which the wizard suggests)."""
    running = start_in_thread(schema_files=(demo_schema_file(),))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def web(tmp_path: Path) -> Iterator[WebSetup]:
    with web_setup(tmp_path) as setup:
        setup.add_user("admin", Role.ADMIN)
        yield setup
        setup.state.runs.wait(60)
        setup.client.assert_never_sent(SF_CLIENT_SECRET, SF_PASSWORD)


def log_in(web: WebSetup, username: str = "admin") -> str:
    """Log in through the login form; returns the CSRF token the pages carry."""
    answer = web.client.post("/login", data={"username": username, "password": PASSWORD, "next": "/records"},
                             follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/records"
    page = web.client.get("/config")
    return csrf_of(page.text) if page.status_code == 200 else csrf_of(web.client.get("/records").text)


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def post(web: WebSetup, path: str, data: dict[str, Any], csrf: str, expect: int = 303) -> Any:
    answer = web.client.post(path, data={"csrf_token": csrf, **data}, follow_redirects=False)
    assert answer.status_code == expect, answer.text[:3000]
    return answer


def selected(html: str, name: str) -> str | None:
    """The selected option's value of the select named ``name``."""
    block = re.search(rf'<select[^>]*name="{re.escape(name)}"[^>]*>(.*?)</select>', html, re.S)
    assert block, f"no select named {name}"
    option = re.search(r'<option value="([^"]*)" selected>', block.group(1))
    return option.group(1) if option else None


def test_pages_need_a_login_and_the_form_logs_in_and_out(web: WebSetup) -> None:
    answer = web.client.get("/records?flow=x", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/login?next=%2Frecords%3Fflow%3Dx"
    form = web.client.get("/login?next=/records")
    assert 'name="next" value="/records"' in form.text and '<label for="username">' in form.text
    wrong = web.client.post("/login", data={"username": "admin", "password": "nope", "next": "/"})
    assert wrong.status_code == 401 and "Wrong username or password." in wrong.text
    elsewhere = web.client.post("/login", data={"username": "admin", "password": PASSWORD,
                                                "next": "//evil.example/"}, follow_redirects=False)
    assert elsewhere.headers["location"] == "/"
    csrf = log_in(web)
    no_token = web.client.post("/logout", follow_redirects=False)
    assert no_token.status_code == 403
    post(web, "/logout", {}, csrf)
    assert web.client.get("/", follow_redirects=False).headers["location"].startswith("/login")


def test_roles_limit_the_pages(web: WebSetup, tmp_path: Path) -> None:
    web.add_user("viewer", Role.VIEWER)
    csrf = log_in(web, "viewer")
    assert web.client.get("/setup/connect").status_code == 403
    assert web.client.get("/config").status_code == 403
    answer = web.client.post("/sync", data={"csrf_token": csrf}, follow_redirects=False)
    assert answer.status_code == 403 and "operator" in answer.text
    not_set_up = web.client.get("/")
    assert "Not set up yet" in not_set_up.text


def test_static_files_are_served_and_nothing_else(web: WebSetup) -> None:
    css = web.client.get("/static/app.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert ":focus-visible" in css.text
    assert web.client.get("/static/live.js").headers["content-type"].startswith("text/javascript")
    for name in ("..%2Fwizard.py", ".hidden.css", "nothing.css", "app.py"):
        assert web.client.get(f"/static/{name}").status_code == 404


def test_the_wizard_sets_the_hub_up_step_by_step_and_resumes(web: WebSetup, org: RunningSandbox) -> None:
    app_url = f"sqlite:///{web.tmp / 'app.db'}"
    create_leads_table(app_url)
    app_exec(app_url, "INSERT INTO leads (last_name, company, stage) VALUES ('Hopper', 'Navy', 'New'), "
             "('Turing', 'Bletchley', 'Won'), ('Lamarr', 'Hedy Inc', 'Qualified')")
    csrf = log_in(web)
    assert web.client.get("/", follow_redirects=False).headers["location"].startswith("/setup")
    assert web.client.get("/setup", follow_redirects=False).headers["location"] == "/setup/connect"
    assert web.client.get("/setup/objects", follow_redirects=False).headers["location"].startswith(
        "/setup/connect")

    # 1. connect: a wrong password is refused by the org and nothing moves on.
    connection = {"login_url": org.url, "flow": "password", "client_id": "salesbridge",
                  "client_secret": SF_CLIENT_SECRET, "username": "admin@sandbox.example",
                  "password": "wrong-pass", "verify": str(org.ca_path), "app_url": app_url}
    refused = post(web, "/setup/connect", connection, csrf, expect=422)
    assert "Salesforce refused the login" in refused.text
    answer = post(web, "/setup/connect", {**connection, "password": SF_PASSWORD, "client_secret": ""}, csrf)
    assert answer.headers["location"].startswith("/setup/objects?notice=Logged+in+to")
    saved = wizard.state_path(web.config_path).read_text()
    assert SF_PASSWORD not in saved and SF_CLIENT_SECRET not in saved
    assert "${SB_SECRET_SALESFORCE_PASSWORD}" in saved and "${SB_SECRET_SALESFORCE_CLIENT_SECRET}" in saved
    assert not web.config_path.exists()
    page = web.client.get("/setup/connect").text
    assert "Saved as ${SB_SECRET_SALESFORCE_CLIENT_SECRET}: leave blank to keep it." in page

    # 2. objects: the leads table is offered with Lead suggested; saving maps fields by name.
    page = web.client.get("/setup/objects").text
    assert selected(page, "row0_object") == "Lead"
    assert web.client.get("/setup", follow_redirects=False).headers["location"] == "/setup/objects"
    post(web, "/setup/objects", {"row0_kind": "table", "row0_table": "leads", "row0_object": "Lead",
                                 "row0_direction": "both", "action": "save"}, csrf)
    page = web.client.get("/setup/objects/leads").text
    assert selected(page, "sf__last_name") == "LastName" and selected(page, "sf__stage") is None
    assert selected(page, "key_external_id") == "Hub_Id__c"
    assert selected(page, "key_salesforce_id_column") == "sf_id"
    bad = post(web, "/setup/objects/leads", {"sf__last_name": "LastName", "sf__company": "lastname",
                                             "key_external_id": "Hub_Id__c"}, csrf, expect=422)
    assert "LastName is mapped to both" in bad.text
    post(web, "/setup/objects/leads", {"sf__first_name": "FirstName", "sf__last_name": "LastName",
                                       "sf__company": "Company", "sf__email": "Email",
                                       "dir__email": "to_salesforce", "sf__stage": "Status",
                                       "key_salesforce_id_column": "sf_id", "key_external_id": "Hub_Id__c"},
         csrf)
    post(web, "/setup/objects", {"row0_kind": "flow", "row0_flow": "leads", "row0_table": "leads",
                                 "row0_object": "Lead", "row0_direction": "both", "action": "next"}, csrf)
    assert web.client.get("/setup", follow_redirects=False).headers["location"] == "/setup/statuses"

    # 3. statuses: our values (from the table) on the left, the picklist's on the right.
    page = web.client.get("/setup/statuses").text
    ours = re.findall(r'name="m0_ours_\d+" value="([^"]*)"', page)
    assert ours == ["New", "Qualified", "Won"]
    assert "Open - Not Contacted" in page and "Closed - Converted" in page
    unknown = post(web, "/setup/statuses", {"m0_ours_0": "New", "m0_theirs_0": "Open - Not Contacted",
                                            "m0_new_ours": "Lost", "m0_new_theirs": "Gone"}, csrf, expect=422)
    assert "not values of the picklist: Gone" in unknown.text
    post(web, "/setup/statuses", {
        "m0_ours_0": "New", "m0_theirs_0": "Open - Not Contacted", "m0_ours_1": "Qualified",
        "m0_theirs_1": "Working - Contacted", "m0_ours_2": "Won", "m0_theirs_2": "Closed - Converted",
        "m0_new_ours": "Lost", "m0_new_theirs": "Closed - Not Converted", "m0_default": "New"}, csrf)

    # 4. owner: the org's users are offered.
    page = web.client.get("/setup/owner").text
    assert "sales.manager@sandbox.example" in page and "admin@sandbox.example" in page
    stranger = post(web, "/setup/owner", {"owner__leads": "nobody@example.com"}, csrf, expect=422)
    assert "not an active user of the org" in stranger.text
    post(web, "/setup/owner", {"owner__leads": "sales.manager@sandbox.example"}, csrf)
    assert not web.config_path.exists()  # written when the wizard is finished

    # 5. schedule: a bad combination is refused; saving writes the config file.
    page = web.client.get("/setup/schedule").text
    assert selected(page, "zone__leads") == "UTC"
    half = post(web, "/setup/schedule", {"every__leads": "15m", "time__leads": "08:00", "zone__leads": "UTC"},
                csrf, expect=422)
    assert "a start time needs a start date" in half.text
    done = post(web, "/setup/schedule", {"every__leads": "15m", "date__leads": "2026-12-01",
                                         "time__leads": "08:00", "zone__leads": "Europe/Berlin"}, csrf)
    assert done.headers["location"].startswith("/?notice=Setup+finished")

    written = yaml.safe_load(web.config_path.read_text())
    assert written["connections"]["salesforce"]["password"] == "${SB_SECRET_SALESFORCE_PASSWORD}"
    assert written["connections"]["app"] == {"url": app_url}
    [flow] = written["flows"]
    assert flow["key"] == {"salesforce_id_column": "sf_id", "external_id": "Hub_Id__c"}
    assert flow["fields"] == {"FirstName": "first_name", "LastName": "last_name", "Company": "company",
                              "Email": {"app": "email", "direction": "to_salesforce"},
                              "Status": {"app": "stage", "values": "leads_status"}}
    assert flow["defaults"] == {"OwnerId": {"user": "sales.manager@sandbox.example"}}
    assert flow["schedule"] == {"every": "15m", "timezone": "Europe/Berlin", "starting": "2026-12-01T08:00"}
    assert written["value_maps"]["leads_status"] == {
        "to_salesforce": {"New": "Open - Not Contacted", "Qualified": "Working - Contacted",
                          "Won": "Closed - Converted", "Lost": "Closed - Not Converted"},
        "from_salesforce": {"Open - Not Contacted": "New", "Working - Contacted": "Qualified",
                            "Closed - Converted": "Won", "Closed - Not Converted": "Lost"},
        "default_from_salesforce": "New"}
    config = web.state.hub_config()  # the hub reads it, secrets from the vault
    assert config.connections.salesforce.password.get_secret_value() == SF_PASSWORD

    # After the wizard, a saved step writes the file again; the steps show what was saved.
    post(web, "/setup/owner", {"owner__leads": ""}, csrf)
    assert "defaults" not in yaml.safe_load(web.config_path.read_text())["flows"][0]
    assert selected(web.client.get("/setup/schedule").text, "every__leads") == "15m"
    dashboard = web.client.get("/")
    assert dashboard.status_code == 200 and "Last run of each flow" in dashboard.text


def test_the_config_page_exports_masked_and_imports_with_errors_named(web: WebSetup,
                                                                     org: RunningSandbox) -> None:
    csrf = log_in(web)
    empty = web.client.get("/config")
    assert "There is no configuration file yet" in empty.text
    write_hub_config(web, org)
    page = web.client.get("/config").text
    assert "********" in page and "login_url" in page
    download = web.client.get("/config/download")
    assert download.headers["content-disposition"] == 'attachment; filename="salesbridge.yaml"'
    data = yaml.safe_load(download.text)
    data["flows"][0]["direction"] = "sideways"
    refused = post(web, "/config/import", {"yaml": yaml.safe_dump(data)}, csrf, expect=422)
    assert "flows[0].direction" in refused.text
    data["flows"][0]["direction"] = "to_salesforce"
    post(web, "/config/import", {"yaml": yaml.safe_dump(data)}, csrf)
    written = yaml.safe_load(web.config_path.read_text())
    assert written["flows"][0]["direction"] == "to_salesforce"
    assert written["connections"]["salesforce"]["password"] == SF_PASSWORD  # the masked value kept the secret
    objects = web.client.get("/setup/objects").text
    assert re.search(r'value="to_salesforce" checked', objects)


def add_lead(web: WebSetup, last: str, company: str | None, stage: str = "New") -> None:
    app_exec(web.app_url, "INSERT INTO leads (last_name, company, stage) VALUES (:last, :company, :stage)",
             last=last, company=company, stage=stage)


def wait_idle(web: WebSetup) -> None:
    assert web.state.runs.wait(120), "the run did not finish"


def test_dashboard_sync_error_retry_and_record_view(web: WebSetup, org: RunningSandbox) -> None:
    write_hub_config(web, org)
    csrf = log_in(web)
    add_lead(web, "Hopper", "Navy")
    add_lead(web, "Nobody", "Acme", stage="Unheard-of")  # no entry in the value map: UNMAPPED_VALUE
    page = web.client.get("/")
    assert "not run yet" in page.text and 'data-state="idle"' in page.text
    assert re.search(r'id="budget-remaining">[\d,]+<', page.text)
    started = post(web, "/sync", {"flow": ""}, csrf)
    assert started.headers["location"].startswith("/?notice=Sync+started")
    wait_idle(web)
    page = web.client.get("/").text
    assert "UNMAPPED_VALUE" in page and "value &#39;Unheard-of&#39; of column stage" in page
    assert 'id="error-count">1 open' in page
    error_id = int(re.search(r'id="error-(\d+)"', page).group(1))
    assert '<span class="badge partial">partial</span>' in page  # the flow's last run: one record failed

    app_exec(web.app_url, "UPDATE leads SET stage = 'Won' WHERE last_name = 'Nobody'")
    back = post(web, f"/errors/{error_id}/retry", {"back": "/"}, csrf)
    assert back.headers["location"].startswith("/?notice=Retry+started")
    wait_idle(web)
    page = web.client.get("/").text
    assert "No open errors." in page
    again = post(web, f"/errors/{error_id}/retry", {"back": "/"}, csrf)
    assert "is+not+open" in again.headers["location"]
    assert "There+are+no+open+errors" in post(web, "/errors/retry", {}, csrf).headers["location"]

    records = web.client.get("/records?flow=leads").text
    assert sorted(re.findall(r"app_key=(\d+)\">", records)) == ["1", "2"]
    view = web.client.get("/records/leads?app_key=2")  # Nobody, fixed and retried
    assert view.status_code == 200
    assert re.search(r'<td class="mono">Status</td>\s*<td>Closed - Converted</td>', view.text)
    assert re.search(r"<td>Won</td>\s*<td class=\"mono\">stage</td>", view.text)
    assert "UNMAPPED_VALUE" in view.text and "created" in view.text  # the history: the error, then the create
    synced = post(web, "/records/leads/sync", {"app_key": "2"}, csrf)
    assert "Synced+now" in synced.headers["location"]
    assert web.client.get("/records/leads?app_key=999999").status_code == 404
    opened = web.client.get("/record?flow=leads&app_key=2", follow_redirects=False)
    assert opened.headers["location"] == "/records/leads?app_key=2"
    run_page = web.client.get("/runs/1")
    assert run_page.status_code == 200 and "UNMAPPED_VALUE" in run_page.text


def test_the_live_panel_shows_a_running_sync(web: WebSetup, org: RunningSandbox) -> None:
    write_hub_config(web, org)
    log_in(web)
    add_lead(web, "Hopper", "Navy")
    reached, gate = threading.Event(), threading.Event()

    def held_sync(hub: Hub, live: LiveRun, on_start: OnStart) -> RunReport:
        def progress_for(flow: str) -> Callable[[str, int], None]:
            def progress(stage: str, count: int) -> None:
                live.advance(flow, stage, count)
                reached.set()
                gate.wait(60)
            return progress

        return hub.sync(None, progress=progress_for, on_start=on_start)

    run_id = web.state.runs.start(web.state.hub(), held_sync)
    try:
        assert reached.wait(60)
        live = web.client.get("/live").text
        assert 'data-state="running"' in live and f'href="/runs/{run_id}">sync run {run_id}</a>' in live
        assert "now on <strong>leads</strong>" in live and 'data-interval="1000"' in live
        dashboard = web.client.get("/").text
        assert 'class="card live" id="live"' in dashboard and 'data-state="running"' in dashboard
        assert 'data-state="running"' in web.client.get(f"/runs/{run_id}").text
    finally:
        gate.set()
    wait_idle(web)
    assert 'data-state="idle"' in web.client.get("/live").text


def test_retry_all_and_the_live_fragment(web: WebSetup, org: RunningSandbox) -> None:
    write_hub_config(web, org)
    csrf = log_in(web)
    add_lead(web, "One", "Acme", stage="Bad1")
    add_lead(web, "Two", "Acme", stage="Bad2")
    post(web, "/sync", {"flow": "leads"}, csrf)
    wait_idle(web)
    assert 'id="error-count">2 open' in web.client.get("/").text
    live = web.client.get("/live").text
    assert live.lstrip().startswith("<section") and 'data-state="idle"' in live
    app_exec(web.app_url, "UPDATE leads SET stage = 'New'")
    post(web, "/errors/retry", {}, csrf)
    wait_idle(web)
    assert "No open errors." in web.client.get("/").text
    unknown = post(web, "/sync", {"flow": "nope"}, csrf)
    assert "no+flow+named" in unknown.headers["location"]


def test_the_wizard_explains_an_empty_database_and_unknown_mappings(web: WebSetup,
                                                                    org: RunningSandbox) -> None:
    csrf = log_in(web)
    app_url = f"sqlite:///{web.tmp / 'empty.db'}"
    post(web, "/setup/connect", {"login_url": org.url, "flow": "client_credentials",
                                 "client_id": "salesbridge", "client_secret": SF_CLIENT_SECRET,
                                 "verify": str(org.ca_path), "app_url": app_url}, csrf)
    page = web.client.get("/setup/objects")
    assert page.status_code == 200 and "The app database has no tables yet." in page.text
    refused = post(web, "/setup/objects", {"action": "next"}, csrf, expect=422)
    assert "Choose a Salesforce object for at least one table." in refused.text
    missing = web.client.get("/setup/objects/nope")
    assert missing.status_code == 404 and "no object mapping named &#39;nope&#39;" in missing.text
    assert web.client.get("/setup/statuses", follow_redirects=False).headers["location"].startswith(
        "/setup/objects?error=Finish")
