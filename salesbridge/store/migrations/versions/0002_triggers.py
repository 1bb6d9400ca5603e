"""Triggers: schedules that survive restarts, the visible chain of runs, and events looked up per record.

- ``sb_schedules``: a flow's schedule text with its next and last run times.
- ``sb_runs.parent_run_id`` / ``cause``: which run started this one and why (event rule or chain, with the
  path of flows that is the loop guard); ``events_handled_at``: when the event loop handled its events. Runs
  finished before this migration count as handled, so that enabling triggers does not replay history.
- ``ix_sb_events_flow_app_key``: a record's previous event (its last known values) is found by key.

``parent_run_id`` is a plain indexed column, not a foreign key: SQLite could add one only by rebuilding
``sb_runs`` (Alembic's batch mode), and dropping the old table with foreign keys on would cascade to the run
flows and conflicts that point at it.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("sb_runs", sa.Column("parent_run_id", _id(), nullable=True))
    op.add_column("sb_runs", sa.Column("cause", sa.JSON(), nullable=True))
    op.add_column("sb_runs", sa.Column("events_handled_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE sb_runs SET events_handled_at = finished_at WHERE finished_at IS NOT NULL")
    op.create_index("ix_sb_runs_parent_run_id", "sb_runs", ["parent_run_id"])
    op.create_index("ix_sb_runs_events_handled_at", "sb_runs", ["events_handled_at"])
    op.create_index("ix_sb_events_flow_app_key", "sb_events", ["flow", "app_key"])
    op.create_table(
        "sb_schedules",
        sa.Column("flow", sa.String(100), primary_key=True),
        sa.Column("spec", sa.String(255), nullable=False),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_run_id", _id(), sa.ForeignKey("sb_runs.id", ondelete="SET NULL"), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("sb_schedules")
    op.drop_index("ix_sb_events_flow_app_key", "sb_events")
    op.drop_index("ix_sb_runs_events_handled_at", "sb_runs")
    op.drop_index("ix_sb_runs_parent_run_id", "sb_runs")
    # Plain DROP COLUMN (SQLite 3.35+), never a table rebuild: see the module docstring.
    for column in ("events_handled_at", "cause", "parent_run_id"):
        op.drop_column("sb_runs", column)
