"""Which process holds a run or a lease: ``host:pid`` (with an optional ``:token``), and whether it is gone.

Only a process on this host can be seen to be gone; one on another host is presumed alive (its lease expires
instead, when it stops renewing).
"""

from __future__ import annotations

import os
import socket


def process_owner(token: str | None = None) -> str:
    """``host:pid`` of this process, or ``host:pid:token`` to tell apart several holders in one process."""
    owner = f"{socket.gethostname()}:{os.getpid()}"
    return f"{owner}:{token}" if token else owner


def owner_is_gone(owner: str | None) -> bool:
    """Whether ``owner`` names a process of this host that no longer runs."""
    host, _, rest = (owner or "").partition(":")
    pid = rest.split(":", 1)[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # another user's process: it runs
        return False
    return False
