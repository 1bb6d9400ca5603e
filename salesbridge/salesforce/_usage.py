"""Counting API requests and reading the org's own usage from its answers.

Every answer from the org passes through ``UsageMeter.on_response`` (a requests response hook on the client's
session), so whatever makes the request (simple-salesforce's REST, Bulk 2.0 or our SOAP calls) is counted once
per HTTP request, retries included. ``Sforce-Limit-Info: api-usage=N/M`` (and SOAP's LimitInfoHeader) tell how
much of the org's daily allowance is used, across all its integrations.
"""

from __future__ import annotations

import re
import threading

import requests

_API_USAGE_RE = re.compile(r"(?:^|[;,\s])api-usage=(\d+)/(\d+)")


def parse_limit_info(value: str) -> tuple[int, int] | None:
    """``(used, max)`` from a ``Sforce-Limit-Info`` header (``api-usage=18/5000; per-app-api-usage=...``)."""
    match = _API_USAGE_RE.search(value)
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2))


class UsageMeter:
    """Requests made by this client (since the last reset) and the org's last reported usage."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls = 0
        self.org_usage: tuple[int, int] | None = None

    def on_response(self, response: requests.Response, *args: object, **kwargs: object) -> None:
        """requests response hook: one more call, and the usage the answer reports."""
        usage = parse_limit_info(response.headers.get("Sforce-Limit-Info", ""))
        with self._lock:
            self.calls += 1
            if usage is not None:
                self.org_usage = usage

    def note_usage(self, used: int, maximum: int) -> None:
        """Usage learnt another way (a SOAP LimitInfoHeader, the limits resource)."""
        with self._lock:
            self.org_usage = (used, maximum)

    def reset(self) -> None:
        with self._lock:
            self.calls = 0
