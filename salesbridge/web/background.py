"""Syncs started from the web: one at a time per process, in a background thread, watched while they run.

A request that starts a sync gets the run id as soon as the Hub has recorded the run (``on_start``) and polls
``/api/runs/{id}``; the run's counts land in the database flow by flow, and what the current flow has done so
far is kept here (``LiveRun.progress``) for the live view. Runs are serialised because one Hub's client counts
API calls per run and because two syncs of the same flow must never race on the same records.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from salesbridge.store.models import utcnow
from salesbridge.sync.runs import Hub, OnStart, RunReport

log = logging.getLogger(__name__)

#: How long a request waits for a starting run to be recorded before giving up on it.
START_TIMEOUT_SECONDS = 120.0


class RunInProgress(RuntimeError):
    """A sync is already running in this process."""

    def __init__(self, run_id: int | None) -> None:
        self.run_id = run_id
        super().__init__(f"a sync is already running (run {run_id}); wait for it to finish"
                         if run_id else "a sync is already starting; wait for it to finish")


class RunDidNotStart(RuntimeError):
    """The run failed before it was recorded (e.g. the login to Salesforce was refused)."""


@dataclass
class LiveRun:
    """What this process knows of a run beyond the database: per flow and stage, records handled so far."""

    run_id: int | None = None
    kind: str = "sync"
    started_at: datetime = field(default_factory=utcnow)
    progress: dict[str, dict[str, int]] = field(default_factory=dict)
    current_flow: str | None = None
    finished: bool = False
    error: str | None = None

    def advance(self, flow: str, stage: str, count: int) -> None:
        self.current_flow = flow
        stages = self.progress.setdefault(flow, {})
        stages[stage] = stages.get(stage, 0) + count


Work = Callable[[Hub, LiveRun, OnStart], RunReport]


class RunManager:
    """Starts runs in the background and remembers the live state of the current and recent ones."""

    def __init__(self, keep: int = 50) -> None:
        self._lock = threading.Lock()
        self._active: LiveRun | None = None
        self._thread: threading.Thread | None = None
        self._recent: dict[int, LiveRun] = {}
        self._keep = keep

    @property
    def active(self) -> LiveRun | None:
        return self._active

    def live(self, run_id: int) -> LiveRun | None:
        return self._recent.get(run_id)

    def start(self, hub: Hub, work: Work, kind: str = "sync") -> int:
        """Run ``work(hub, live, on_start)`` in a thread; returns the run id once the run is recorded."""
        if not self._lock.acquire(blocking=False):
            raise RunInProgress(self._active.run_id if self._active else None)
        live = LiveRun(kind=kind)
        started = threading.Event()

        def on_start(run_id: int) -> None:
            live.run_id = run_id
            self._remember(live)
            started.set()

        def target() -> None:
            try:
                work(hub, live, on_start)
            except Exception as error:  # the run's own failures are in its record; this is what escaped it
                log.exception("background %s failed", kind)
                live.error = f"{type(error).__name__}: {error}"
            finally:
                live.finished = True
                live.current_flow = None
                self._active = None
                self._lock.release()
                started.set()

        self._active = live
        thread = threading.Thread(target=target, name=f"salesbridge-{kind}", daemon=True)
        self._thread = thread
        try:
            thread.start()
        except BaseException:
            self._active = None
            self._lock.release()
            raise
        started.wait(START_TIMEOUT_SECONDS)
        if live.run_id is None:
            raise RunDidNotStart(live.error or "the run did not start in time")
        return live.run_id

    def run_now(self, hub: Hub, work: Callable[[Hub], RunReport]) -> RunReport:
        """Run ``work`` in the calling thread, still one at a time ("sync this record now")."""
        if not self._lock.acquire(blocking=False):
            raise RunInProgress(self._active.run_id if self._active else None)
        try:
            return work(hub)
        finally:
            self._lock.release()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the background run (if any) to end; True when none is left running."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    def _remember(self, live: LiveRun) -> None:
        assert live.run_id is not None
        self._recent[live.run_id] = live
        while len(self._recent) > self._keep:
            self._recent.pop(next(iter(self._recent)))


def sync_work(flows: list[str] | None) -> Work:
    def work(hub: Hub, live: LiveRun, on_start: OnStart) -> RunReport:
        def progress_for(flow: str) -> Callable[[str, int], None]:
            live.current_flow = flow
            return lambda stage, count: live.advance(flow, stage, count)

        return hub.sync(flows, progress=progress_for, on_start=on_start)

    return work


def retry_work(error_ids: list[int] | None, flow: str | None) -> Work:
    def work(hub: Hub, live: LiveRun, on_start: OnStart) -> RunReport:
        return hub.retry(error_ids, flow=flow, on_start=on_start)

    return work
