"""Fixtures of the web tests: the browser and a fresh page per test (see browser_support)."""

from browser_support import browser, page  # noqa: F401 - fixtures
