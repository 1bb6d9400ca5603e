"""One ``salesbridge run`` per hub database: the scheduler holds the ``scheduler`` lease in ``sb_leases``.

Two schedulers on one database would run every scheduled flow twice and race on the event loop's cursor. The
lease is taken with compare-and-swap updates (no database-specific locks, so SQLite and PostgreSQL behave
alike), renewed while the holder lives, and released when it stops. A lease whose holder stopped renewing for
``ttl_seconds``, or whose process on this host is gone (kill -9), is taken over.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from salesbridge.store.models import Lease
from salesbridge.store.processes import owner_is_gone, process_owner

SCHEDULER = "scheduler"
TTL_SECONDS = 120.0


class LeaseHeld(Exception):
    """Another live process holds the lease; the message names it and since when."""


class DatabaseLease:
    """A named lease for this process (``host:pid:token``) on the hub database."""

    def __init__(self, engine: Engine, name: str = SCHEDULER, *, ttl_seconds: float = TTL_SECONDS) -> None:
        self.engine = engine
        self.name = name
        self.ttl = timedelta(seconds=ttl_seconds)
        self.owner = process_owner(uuid.uuid4().hex[:8])

    def acquire(self, now: datetime | None = None) -> None:
        """Take the lease, or raise LeaseHeld naming its live holder."""
        now = now or datetime.now(UTC)
        with Session(self.engine) as session, session.begin():
            held = session.scalars(select(Lease).where(Lease.name == self.name)).first()
            if held is None:
                try:
                    with session.begin_nested():
                        session.execute(insert(Lease).values(name=self.name, owner=self.owner, acquired_at=now,
                                                             renewed_at=now))
                    return
                except IntegrityError:  # another process inserted it first
                    held = session.scalars(select(Lease).where(Lease.name == self.name)).one()
            if held.owner != self.owner and not self._expired(held, now):
                raise LeaseHeld(f"another salesbridge run holds this database ({held.owner}, since "
                                f"{held.acquired_at:%Y-%m-%d %H:%M:%S} UTC, renewed {held.renewed_at:%H:%M:%S}); "
                                "run one per hub database")
            # Compare-and-swap on the holder: of two processes taking over at once, one wins.
            taken = session.execute(update(Lease).where(Lease.name == self.name, Lease.owner == held.owner)
                                    .values(owner=self.owner, acquired_at=now, renewed_at=now))
            if taken.rowcount != 1:
                raise LeaseHeld("another salesbridge run took this database's lease at the same moment")

    def renew(self, now: datetime | None = None) -> bool:
        """Keep the lease; False when it is no longer ours (taken over after this process stalled)."""
        with Session(self.engine) as session, session.begin():
            renewed = session.execute(update(Lease).where(Lease.name == self.name, Lease.owner == self.owner)
                                      .values(renewed_at=now or datetime.now(UTC)))
            return renewed.rowcount == 1

    def release(self) -> None:
        with Session(self.engine) as session, session.begin():
            session.execute(delete(Lease).where(Lease.name == self.name, Lease.owner == self.owner))

    def _expired(self, held: Lease, now: datetime) -> bool:
        renewed = held.renewed_at if held.renewed_at.tzinfo else held.renewed_at.replace(tzinfo=UTC)
        return now - renewed > self.ttl or owner_is_gone(held.owner)
