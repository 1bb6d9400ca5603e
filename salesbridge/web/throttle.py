"""Slowing down password guessing: after a few failed logins for one name from one address, logins for that
pair are refused for a while (429), even with the right password.

Kept in memory per process: a restart forgets it, which is fine for a brake on guessing (argon2's cost is the
other one). Keyed by name *and* client address, so that nobody can lock an admin out from elsewhere.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

MAX_FAILURES = 10
WINDOW_SECONDS = 15 * 60
LOCKOUT_SECONDS = 5 * 60


class LoginThrottle:
    def __init__(self, max_failures: int = MAX_FAILURES, window: float = WINDOW_SECONDS,
                 lockout: float = LOCKOUT_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_failures = max_failures
        self.window = window
        self.lockout = lockout
        self._clock = clock
        self._failures: dict[tuple[str, str], list[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, username: str, client: str | None) -> float:
        """Seconds until this name may try again from this address (0: now)."""
        key = (username.lower(), client or "")
        with self._lock:
            recent = self._recent(key)
            if len(recent) < self.max_failures:
                return 0.0
            return max(0.0, recent[-1] + self.lockout - self._clock())

    def failed(self, username: str, client: str | None) -> None:
        key = (username.lower(), client or "")
        with self._lock:
            self._failures[key] = [*self._recent(key), self._clock()][-self.max_failures:]

    def succeeded(self, username: str, client: str | None) -> None:
        with self._lock:
            self._failures.pop((username.lower(), client or ""), None)

    def _recent(self, key: tuple[str, str]) -> list[float]:
        horizon = self._clock() - max(self.window, self.lockout)
        return [moment for moment in self._failures.get(key, []) if moment > horizon]
