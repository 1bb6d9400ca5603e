"""The hub process of the crash test: ``Hub(config).sync()`` in a process of its own, announcing each step.

``python crash_worker.py`` is a zygote: it imports the hub once (about two seconds on a loaded machine) and then,
for each command line read on stdin (``{"config": path, "die_at": "EVENT:N" | null}`` as JSON), forks one sync
process and prints ``pid <n>``, that child's events, and ``exit <code>`` when it ended (``-9`` when killed). A
forked child starts from the zygote's state, which is only imported modules: no connection, no engine, no
memory of earlier runs, so every sync starts as cold as a restarted service would.

The child prints every step worth crashing at as ``event <name>``, at once, so that the test can SIGKILL it
at any moment. ``die_at`` makes it SIGKILL itself right at the N-th occurrence of an event: the only way to land
a crash deterministically in the microseconds between a Salesforce write returning and the links that cover it
being committed. A child that is not killed prints ``report <json>`` with what the run did.

Events: ``start``, ``hub ready`` (config loaded, store migrated, change-log triggers installed),
``sf-send:<op>`` (a Salesforce write is about to be sent), ``sf-done:<op>`` (it returned; nothing committed yet),
and the engine's progress stages (``<flow>:read salesforce``, ``<flow>:write app``, ``<flow>:write salesforce``),
each after its work committed.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import traceback
from collections import Counter
from collections.abc import Callable
from typing import Any

from salesbridge.salesforce import SalesforceClient
from salesbridge.sync.config import load_config
from salesbridge.sync.runs import Hub

WRITE_METHODS = ("create", "update", "upsert", "delete")


def say(line: str) -> None:
    """One line to the test, in one write: the zygote and its child share the pipe, and a pipe write of under
    4 KiB is never interleaved with another (``print`` may write the text and the newline separately)."""
    os.write(sys.stdout.fileno(), (line + "\n").encode())


class Announcer:
    """Prints events and kills this process at the chosen one."""

    def __init__(self, die_at: str | None) -> None:
        self.seen: Counter[str] = Counter()
        self.die_event: str | None = None
        self.die_count = 0
        if die_at:
            event, _, count = die_at.rpartition(":")
            self.die_event, self.die_count = event, int(count)

    def __call__(self, event: str) -> None:
        self.seen[event] += 1
        say(f"event {event}")
        if event == self.die_event and self.seen[event] == self.die_count:
            os.kill(os.getpid(), signal.SIGKILL)


def announce_writes(client: SalesforceClient, announce: Announcer) -> None:
    """Wrap the client's write methods on the instance (the engine calls them through it)."""
    for name in WRITE_METHODS:
        original: Callable[..., Any] = getattr(client, name)

        def wrapped(*args: Any, _original: Callable[..., Any] = original, _name: str = name, **kwargs: Any) -> Any:
            announce(f"sf-send:{_name}")
            result = _original(*args, **kwargs)
            announce(f"sf-done:{_name}")
            return result

        setattr(client, name, wrapped)


def sync_once(config_path: str, die_at: str | None) -> None:
    """One sync, as the CLI's ``salesbridge sync`` would run it, with every step announced."""
    announce = Announcer(die_at)
    announce("start")
    hub = Hub(load_config(config_path))
    announce("hub ready")
    announce_writes(hub.client, announce)
    report = hub.sync(progress=lambda flow: lambda stage, _count: announce(f"{flow}:{stage}"))
    summary = {
        "status": report.status,
        "errors": report.errors,
        "flows": {r.flow: {"to_app": r.written_to_app, "to_salesforce": r.written_to_salesforce,
                           "deletes": r.deletes, "failed": r.failed, "conflicts": r.conflicts}
                  for r in report.results},
    }
    say(f"report {json.dumps(summary)}")


def run_child(command: dict[str, Any]) -> int:
    """The body of one forked sync process; its exit code."""
    try:
        sync_once(command["config"], command.get("die_at"))
        return 0
    except Exception as error:  # the test reads the failure from stdout, the traceback from stderr
        traceback.print_exc()
        say(f"crashed {type(error).__name__}: {error}")
        return 1


def wait_for_exit(pid: int) -> int:
    """The child's exit code (minus the signal that killed it), leaving it unreaped: until the next command its
    pid stays taken, so that a kill the test sends late can only reach this child, never a newcomer."""
    info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
    assert info is not None
    return info.si_status if info.si_code == os.CLD_EXITED else -info.si_status


def serve() -> None:
    previous: int | None = None
    for line in sys.stdin:
        if previous is not None:
            os.waitpid(previous, 0)
            previous = None
        if not line.strip():
            continue
        command = json.loads(line)
        pid = os.fork()
        if pid == 0:
            os._exit(run_child(command))  # skip the zygote's own exit handlers
        say(f"pid {pid}")
        say(f"exit {wait_for_exit(pid)}")
        previous = pid
    if previous is not None:
        os.waitpid(previous, 0)


if __name__ == "__main__":
    serve()
