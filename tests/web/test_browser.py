"""The admin pages in a real browser: Debian's Chromium driven by Playwright, against a sandbox org.

One walk through what an admin does on a first day: log in, complete the five setup steps, run a sync, see a
record Salesforce refused (an invalid e-mail address, put there on purpose), fix it in the app, retry it, and
look at the record. Forms are submitted with Enter where a person would; every page is checked for
labels, visible focus and width, and saved as a screenshot at 1366x768 in test-artifacts/screenshots/.

Chromium, the server and the page checks come from ``browser_support``.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import browser_support
import pytest
from api_support import PASSWORD, SF_CLIENT_SECRET, SF_PASSWORD, WebSetup, create_leads_table, web_setup
from browser_support import (
    WebServer,
    assert_focus_visible,
    chromium_path,
    select_by_label,
    shoot,
)
from playwright.sync_api import Page, expect

from salesbridge.demo import demo_schema_file
from salesbridge.sandbox.server import RunningSandbox, start_in_thread
from salesbridge.store.web_models import Role
from salesbridge.sync.runs import Hub, OnStart, RunReport
from salesbridge.web import pages_dashboard
from salesbridge.web.background import LiveRun


@pytest.fixture
def org() -> Iterator[RunningSandbox]:
    running = start_in_thread(schema_files=(demo_schema_file(),))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[WebSetup, str]]:
    with web_setup(tmp_path) as setup, WebServer(setup) as server:
        setup.add_user("admin", Role.ADMIN)
        yield setup, server.url
        setup.state.runs.wait(60)


class HeldSync:
    """Syncs started from the dashboard wait at their first progress report until released.

    The live view is then seen while a run is really under way, without depending on how fast the run is.
    """

    def __init__(self) -> None:
        self.gate = threading.Event()

    def release(self) -> None:
        self.gate.set()

    def work(self, flows: list[str] | None) -> Callable[[Hub, LiveRun, OnStart], RunReport]:
        def run(hub: Hub, live: LiveRun, on_start: OnStart) -> RunReport:
            def progress_for(flow: str) -> Callable[[str, int], None]:
                live.current_flow = flow

                def progress(stage: str, count: int) -> None:
                    live.advance(flow, stage, count)
                    self.gate.wait(120)

                return progress

            return hub.sync(flows, progress=progress_for, on_start=on_start)

        return run


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldSync]:
    holder = HeldSync()
    monkeypatch.setattr(pages_dashboard, "sync_work", holder.work)
    yield holder
    holder.release()


def test_setup_sync_error_and_retry_in_chromium(site: tuple[WebSetup, str], org: RunningSandbox, page: Page,
                                                held: HeldSync) -> None:
    setup, url = site
    app_url = f"sqlite:///{setup.tmp / 'app.db'}"
    create_leads_table(app_url)
    with sqlite3.connect(setup.tmp / "app.db") as db:
        db.executemany("INSERT INTO leads (first_name, last_name, company, email, stage) "
                       "VALUES (?, ?, ?, ?, ?)", [
            ("Grace", "Hopper", "Navy Labs", "grace@navylabs.example", "New"),
            ("Alan", "Turing", "Bletchley Park", "alan@bletchley.example", "Won"),
            ("Hedy", "Lamarr", "Frequency Inc", "hedy-at-frequency", "New"),  # Salesforce refuses this e-mail
        ])

    # Log in with the keyboard.
    page.goto(url + "/")
    expect(page).to_have_url(f"{url}/login?next=%2F")
    shoot(page, "01-login")
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")
    expect(page).to_have_url(f"{url}/setup/connect")
    assert_focus_visible(page)

    # Step 1: connect (Enter in the last field submits and tests the login).
    page.get_by_label("Login URL").fill(org.url)
    page.get_by_label("Connected app: client id (consumer key)").fill("salesbridge")
    page.get_by_label("Connected app: client secret").fill(SF_CLIENT_SECRET)
    page.get_by_label("Username").fill("admin@sandbox.example")
    page.get_by_label("Password", exact=True).fill(SF_PASSWORD)
    page.get_by_label("TLS certificate check").fill(str(org.ca_path))
    page.get_by_label("Database URL (SQLAlchemy)").fill(app_url)
    shoot(page, "02-step1-connect")
    page.get_by_label("Database URL (SQLAlchemy)").press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Logged in to")
    expect(page).to_have_url(re.compile(r"/setup/objects\?notice="))

    # Step 2: objects, with Lead suggested for the leads table; then the field mapping.
    expect(page.get_by_label("Salesforce object for leads")).to_have_value("Lead")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Objects saved.")
    shoot(page, "03-step2-objects")
    page.get_by_role("link", name="View mapping of leads").click()
    expect(page.get_by_label("last_name", exact=True)).to_have_value("LastName")
    page.get_by_label("stage", exact=True).select_option("Status")
    shoot(page, "04-step2-view-mapping")
    page.get_by_role("button", name="Save mapping").click()
    expect(page.get_by_role("status")).to_contain_text("Field mapping of leads saved (5 fields).")
    page.get_by_role("button", name="Save and continue").click()

    # Step 3: our pipeline values on the left, the picklist's on the right.
    expect(page.get_by_role("heading", name="Step 3: Status mapping")).to_be_visible()
    select_by_label(page, "New", "Open - Not Contacted")
    select_by_label(page, "Won", "Closed - Converted")
    shoot(page, "05-step3-statuses")
    page.get_by_role("button", name="Save and continue").click()

    # Step 4: the default owner, from the org's users.
    owner = page.get_by_label("Owner of new Lead records (flow “leads”)")
    owner.select_option("sales.manager@sandbox.example")
    shoot(page, "06-step4-owner")
    page.get_by_role("button", name="Save and continue").click()

    # Step 5: the schedule; finishing writes the config and opens the dashboard.
    page.get_by_label("Interval of leads").select_option("15m")
    page.get_by_label("Start date of leads").fill("2026-12-01")
    page.get_by_label("Start time of leads").fill("08:00")
    page.get_by_label("Time zone of leads").select_option("Europe/Berlin")
    shoot(page, "07-step5-schedule")
    page.get_by_role("button", name="Save and finish").click()
    expect(page.get_by_role("status")).to_contain_text("Setup finished")
    assert "${SB_SECRET_SALESFORCE_PASSWORD}" in setup.config_path.read_text()
    shoot(page, "08-dashboard-before-sync")

    # Run a sync (held at its first step, so the live panel is seen running); the panel follows it and the
    # page reloads by itself when the run is done.
    page.get_by_role("button", name="Sync now").click()
    live = page.locator("#live")
    expect(live).to_have_attribute("data-state", "running")
    expect(live).to_contain_text("now on leads")
    shoot(page, "09-dashboard-live-sync")
    held.release()
    expect(page.locator("#error-count")).to_have_text("1 open", timeout=120_000)
    errors = page.locator("#errors")
    expect(errors).to_contain_text("INVALID_EMAIL_ADDRESS")
    expect(errors).to_contain_text("hedy-at-frequency")
    expect(page.locator("#live")).to_have_attribute("data-state", "idle")
    shoot(page, "10-dashboard-error")

    # Fix the record in the app, then retry just that error.
    with sqlite3.connect(setup.tmp / "app.db") as db:
        db.execute("UPDATE leads SET email = 'hedy@frequency.example' WHERE last_name = 'Lamarr'")
    page.get_by_role("button", name="Retry error").first.click()
    expect(page.get_by_role("status")).to_contain_text("Retry started")
    expect(page.get_by_text("No open errors.")).to_be_visible(timeout=120_000)
    shoot(page, "11-dashboard-retried")

    # The record: both sides, its history, and "sync now".
    page.get_by_role("link", name="Records", exact=True).click()
    page.get_by_label("App key").fill("3")
    page.get_by_label("App key").press("Enter")
    expect(page.locator("#sides")).to_contain_text("hedy@frequency.example")
    expect(page.locator("#history")).to_contain_text("INVALID_EMAIL_ADDRESS")
    shoot(page, "12-record-view")
    page.get_by_role("button", name="Sync now").click()
    expect(page.get_by_role("status")).to_contain_text("Synced now")

    leads = {row["Email"]: row for row in org.org.store.records("Lead", False)}
    assert {"grace@navylabs.example", "alan@bletchley.example", "hedy@frequency.example"} <= set(leads)
    [manager] = [user["Id"] for user in org.org.store.records("User", False)
                 if user["Username"] == "sales.manager@sandbox.example"]
    assert {lead["OwnerId"] for lead in leads.values()} == {manager}  # step 4's default owner


def test_a_missing_chromium_fails_rather_than_skips(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(browser_support, "CHROMIUM", str(tmp_path / "no-chromium"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(pytest.fail.Exception, match="Chromium is not installed"):
        chromium_path()
