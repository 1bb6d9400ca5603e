"""When and how long to wait before trying again: exponential backoff with jitter.

Jitter spreads the retries of many workers hit by the same outage (or the same row lock) over time, so that they
do not all come back at once. ``sleep`` and ``random`` are injectable so that tests run instantly and exactly.
"""

from __future__ import annotations

import random as _random
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RetryPolicy:
    """``attempts``: tries of one request in all (1 = never retry). ``lock_retries``: how many more times records
    that failed with UNABLE_TO_LOCK_ROW inside a write are sent again (on their own, not with the whole batch).

    The n-th wait (n from 0) is ``min(max_delay, base_delay * 2**n)``, reduced by up to ``jitter`` of itself at
    random (0.5: between half and all of it).
    """

    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 30.0
    jitter: float = 0.5
    lock_retries: int = 3
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)
    random: Callable[[], float] = field(default=_random.random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.lock_retries < 0 or self.base_delay < 0 or self.max_delay < 0 or not 0 <= self.jitter <= 1:
            raise ValueError("lock_retries, base_delay and max_delay must be >= 0 and jitter within 0..1")

    def delay(self, retry_number: int) -> float:
        """Seconds to wait before retry number ``retry_number`` (0 for the first retry)."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** retry_number))
        return ceiling * (1.0 - self.jitter * self.random())

    def wait(self, retry_number: int) -> float:
        """Wait before a retry; answers how long."""
        seconds = self.delay(retry_number)
        self.sleep(seconds)
        return seconds


DEFAULT_RETRY = RetryPolicy()
