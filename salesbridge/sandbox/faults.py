"""Fault injection for reliability tests: the failures a real org produces, on demand and reproducibly.

Off by default. Set from the config file (``faults:``) or ``POST /sandbox/admin/faults``:

- ``error_rate``: share of API requests (``/services/data``) answered 500 UNKNOWN_EXCEPTION or 503
  SERVER_UNAVAILABLE (half each); ``fail_next_requests`` answers the next N API requests so regardless of rate.
- ``error_after``: inject those errors *after* the request ran, so a write happens but its answer is lost (what
  makes a blind retry insert a duplicate).
- ``latency_ms``: every API request waits this long before it is handled.
- ``lock_rate``: share of record writes failing UNABLE_TO_LOCK_ROW; ``lock_next_writes`` fails the next N. Writes
  ask ``should_lock()`` per record (see ``org.FaultAwareRecordService``), so collections, composite and Bulk fail
  record by record as Salesforce does.
- ``seed``: makes the random choices reproducible.

The one-shot actions (expire every session, use up the API allowance) are methods on the org's session store
and API usage; the admin endpoint triggers them.
"""

from __future__ import annotations

import asyncio
import random
import threading
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from salesbridge.sandbox.limits import is_api_path, send_json, with_limit_header

if TYPE_CHECKING:
    from salesbridge.sandbox.org import Org

SERVER_ERROR_BODY = [{"message": "An unexpected error occurred. Please include this ErrorId if you contact "
                                 "support: 1234567890-12345 (-1234567890)", "errorCode": "UNKNOWN_EXCEPTION"}]
UNAVAILABLE_BODY = [{"message": "Server temporarily unavailable, please retry.", "errorCode": "SERVER_UNAVAILABLE"}]


@dataclass
class FaultSettings:
    """What to inject; all off by default."""

    error_rate: float = 0.0
    error_after: bool = False
    fail_next_requests: int = 0
    latency_ms: int = 0
    lock_rate: float = 0.0
    lock_next_writes: int = 0
    seed: int | None = None

    def __post_init__(self) -> None:
        for name in ("error_rate", "lock_rate"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a number between 0 and 1, got {value!r}")
        for name in ("fail_next_requests", "latency_ms", "lock_next_writes"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")

    @property
    def active(self) -> bool:
        return bool(self.error_rate or self.fail_next_requests or self.latency_ms or self.lock_rate
                    or self.lock_next_writes)


class FaultInjector:
    """Decides, reproducibly for a given seed and sequence of calls, which requests and writes fail."""

    def __init__(self, settings: FaultSettings | None = None) -> None:
        self._lock = threading.Lock()
        self.configure(settings or FaultSettings())

    def configure(self, settings: FaultSettings) -> None:
        """Replace the fault settings; the random sequence restarts from the seed."""
        with self._lock:
            self.settings = settings
            self._random = random.Random(settings.seed)

    def describe(self) -> dict[str, Any]:
        with self._lock:
            return asdict(self.settings)

    def should_lock(self) -> bool:
        """Whether the record write about to happen fails with UNABLE_TO_LOCK_ROW. Cheap when faults are off."""
        settings = self.settings
        if not (settings.lock_next_writes or settings.lock_rate):
            return False
        with self._lock:
            if settings.lock_next_writes:
                settings.lock_next_writes -= 1
                return True
            return self._random.random() < settings.lock_rate

    def request_error(self) -> int | None:
        """The 5xx status the API request about to be handled fails with, or None."""
        settings = self.settings
        if not (settings.fail_next_requests or settings.error_rate):
            return None
        with self._lock:
            if settings.fail_next_requests:
                settings.fail_next_requests -= 1
            elif self._random.random() >= settings.error_rate:
                return None
            return 500 if self._random.random() < 0.5 else 503

    @property
    def latency_seconds(self) -> float:
        return self.settings.latency_ms / 1000.0


async def _send_error(send: Send, status: int) -> None:
    await send_json(send, status, SERVER_ERROR_BODY if status == 500 else UNAVAILABLE_BODY)


class FaultMiddleware:
    """Slows down or fails API requests as the org's fault settings say."""

    def __init__(self, app: ASGIApp, org: Org) -> None:
        self.app = app
        self.org = org

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        faults = self.org.faults
        if scope["type"] != "http" or not is_api_path(scope["path"]) or not faults.settings.active:
            await self.app(scope, receive, send)
            return
        if faults.latency_seconds:
            await asyncio.sleep(faults.latency_seconds)
        status = faults.request_error()
        if status is None:
            await self.app(scope, receive, send)
            return
        send = with_limit_header(send, self.org)
        if not faults.settings.error_after:
            await _send_error(send, status)
            return

        async def discard(message: Message) -> None:
            """The handler's real answer is lost, as when a connection drops after the commit."""

        await self.app(scope, receive, discard)
        await _send_error(send, status)
