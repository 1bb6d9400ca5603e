"""Browser-test support: Debian's Chromium under Playwright, the web app under uvicorn on loopback, and the
checks every page passes (labels, width, text size, visible focus), with screenshots in
test-artifacts/screenshots/.

Chromium is Debian's package (``/usr/bin/chromium``; ``scripts/test`` installs it). Its absence fails the
test: these tests are how the pages are shown to work, so they never skip.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from api_support import WebSetup
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1366, "height": 768}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
TIMEOUT_MS = 60_000


def chromium_path() -> str:
    """Debian's Chromium; a missing browser fails the test (it must not pass by not running)."""
    found = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if not found:
        pytest.fail("Chromium is not installed: run ./scripts/test (it installs Debian's chromium) or "
                    "apt-get install chromium", pytrace=False)
    return found


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = chromium_path()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()


class WebServer:
    """The web app under uvicorn in a thread, on a free loopback port."""

    def __init__(self, setup: WebSetup) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(setup.app, host="127.0.0.1", port=self.port,
                                                    log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, name="web-under-test", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> WebServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "the web app did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=VIEWPORT)
    opened = context.new_page()
    opened.set_default_timeout(TIMEOUT_MS)
    try:
        yield opened
    finally:
        context.close()


def shoot(page: Page, name: str) -> None:
    """A full-page screenshot kept as a test artifact, after checking the page is fit for a laptop screen."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    assert_usable(page, name)


def assert_usable(page: Page, name: str) -> None:
    """Every form control has a label, nothing scrolls sideways at 1366 px, and the text is not tiny."""
    unlabelled = page.evaluate("""() => Array.from(document.querySelectorAll('input, select, textarea'))
        .filter(el => el.type !== 'hidden' && el.type !== 'submit')
        .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
        .map(el => el.name || el.id)""")
    assert unlabelled == [], f"{name}: form controls without a label: {unlabelled}"
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{name}: the page is {overflow}px wider than a 1366px screen"
    size = page.evaluate("() => parseFloat(getComputedStyle(document.body).fontSize)")
    assert size >= 14, f"{name}: body text is {size}px"


def assert_focus_visible(page: Page) -> None:
    """Tab moves the focus, and the focused element shows an outline (keyboard users see where they are)."""
    page.keyboard.press("Tab")
    outline = page.evaluate("() => { const s = getComputedStyle(document.activeElement); "
                            "return [document.activeElement.tagName, s.outlineStyle, s.outlineWidth]; }")
    assert outline[0] != "BODY" and outline[1] != "none" and outline[2] != "0px", outline


def select_by_label(page: Page, label: str, value: str) -> None:
    page.get_by_label(label, exact=True).select_option(value)
