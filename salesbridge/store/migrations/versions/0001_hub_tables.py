"""The hub's tables: links, watermarks, runs and run flows, record errors, conflicts, events.

Plain column types only (never the models' Python-side types): a migration describes the database as it was
at this revision, whatever the models become later.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine[int]:
    """BIGINT on PostgreSQL; exactly INTEGER on SQLite, where only that makes an autoincrementing rowid."""
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _timestamp(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _run_fk(ondelete: str) -> sa.Column[object]:
    return sa.Column("run_id", _id(), sa.ForeignKey("sb_runs.id", ondelete=ondelete), nullable=True)


def upgrade() -> None:
    op.create_table(
        "sb_links",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        sa.Column("flow", sa.String(100), nullable=False),
        sa.Column("app_key", sa.String(255), nullable=False),
        sa.Column("sf_id", sa.String(18), nullable=True),
        sa.Column("sf_object", sa.String(100), nullable=False),
        sa.Column("sf_modstamp", sa.String(40), nullable=True),
        sa.Column("app_hash", sa.String(128), nullable=True),
        sa.Column("sf_hash", sa.String(128), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        _timestamp("deleted_at", nullable=True),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.UniqueConstraint("flow", "app_key", name="uq_sb_links_flow_app_key"),
        sa.UniqueConstraint("flow", "sf_id", name="uq_sb_links_flow_sf_id"),
    )
    op.create_table(
        "sb_watermarks",
        sa.Column("flow", sa.String(100), primary_key=True),
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        _timestamp("updated_at"),
    )
    op.create_table(
        "sb_runs",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        _timestamp("started_at"),
        _timestamp("finished_at", nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("trigger", sa.String(20), nullable=False),
        sa.Column("flows", sa.JSON(), nullable=False),
        sa.Column("api_calls", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
    )
    op.create_index("ix_sb_runs_started_at", "sb_runs", ["started_at"])
    op.create_table(
        "sb_run_flows",
        sa.Column("run_id", _id(), sa.ForeignKey("sb_runs.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("flow", sa.String(100), primary_key=True),
        *(sa.Column(name, sa.Integer(), nullable=False)
          for name in ("records_read", "records_written", "records_failed", "conflicts", "api_calls", "deletes")),
        sa.Column("details", sa.JSON(), nullable=False),
    )
    op.create_table(
        "sb_record_errors",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        _run_fk("SET NULL"),
        sa.Column("flow", sa.String(100), nullable=False),
        sa.Column("direction", sa.String(20), nullable=False),
        sa.Column("operation", sa.String(20), nullable=False),
        sa.Column("app_key", sa.String(255), nullable=True),
        sa.Column("sf_id", sa.String(18), nullable=True),
        sa.Column("error_code", sa.String(100), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
    )
    op.create_index("ix_sb_record_errors_status_flow", "sb_record_errors", ["status", "flow"])
    op.create_index("ix_sb_record_errors_flow_app_key", "sb_record_errors", ["flow", "app_key"])
    op.create_index("ix_sb_record_errors_flow_sf_id", "sb_record_errors", ["flow", "sf_id"])
    op.create_table(
        "sb_conflicts",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        _run_fk("CASCADE"),
        sa.Column("flow", sa.String(100), nullable=False),
        sa.Column("app_key", sa.String(255), nullable=True),
        sa.Column("sf_id", sa.String(18), nullable=True),
        sa.Column("policy", sa.String(40), nullable=False),
        sa.Column("winner", sa.String(20), nullable=False),
        sa.Column("sf_values", sa.JSON(), nullable=False),
        sa.Column("app_values", sa.JSON(), nullable=False),
        _timestamp("created_at"),
    )
    op.create_index("ix_sb_conflicts_run_id", "sb_conflicts", ["run_id"])
    op.create_table(
        "sb_events",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        _run_fk("SET NULL"),
        sa.Column("flow", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("app_key", sa.String(255), nullable=True),
        sa.Column("sf_id", sa.String(18), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        _timestamp("created_at"),
    )
    op.create_index("ix_sb_events_run_id", "sb_events", ["run_id"])
    op.create_index("ix_sb_events_flow_kind", "sb_events", ["flow", "kind"])


def downgrade() -> None:
    for table in ("sb_events", "sb_conflicts", "sb_record_errors", "sb_run_flows", "sb_runs", "sb_watermarks",
                  "sb_links"):
        op.drop_table(table)
