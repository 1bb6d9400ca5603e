"""Runs name the process running them (``sb_runs.owner``, ``host:pid``), so that a run left ``running`` by a
process that died (kill -9, a crash, a reboot) is found and marked ``interrupted`` instead of showing as
running for ever.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("sb_runs", sa.Column("owner", sa.String(120), nullable=True))


def downgrade() -> None:
    op.drop_column("sb_runs", "owner")  # plain DROP COLUMN (SQLite 3.35+), no table rebuild
