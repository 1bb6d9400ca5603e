"""Web admin tables: users, API tokens, login sessions, encrypted secrets, audit log.

Plain column types only, as in 0001: a migration describes the database as it was at this revision.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine[int]:
    """BIGINT on PostgreSQL; exactly INTEGER on SQLite, where only that makes an autoincrementing rowid."""
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _timestamp(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _user_fk() -> sa.Column[object]:
    return sa.Column("user_id", _id(), sa.ForeignKey("sb_users.id", ondelete="CASCADE"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "sb_users",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(150), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        _timestamp("last_login_at", nullable=True),
        sa.UniqueConstraint("username", name="uq_sb_users_username"),
    )
    op.create_table(
        "sb_api_tokens",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        _user_fk(),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        _timestamp("created_at"),
        _timestamp("expires_at", nullable=True),
        _timestamp("last_used_at", nullable=True),
        sa.UniqueConstraint("token_hash", name="uq_sb_api_tokens_token_hash"),
    )
    op.create_index("ix_sb_api_tokens_user_id", "sb_api_tokens", ["user_id"])
    op.create_table(
        "sb_web_sessions",
        sa.Column("id", sa.String(64), primary_key=True),
        _user_fk(),
        _timestamp("created_at"),
        _timestamp("expires_at"),
        _timestamp("last_seen_at"),
    )
    op.create_index("ix_sb_web_sessions_user_id", "sb_web_sessions", ["user_id"])
    op.create_index("ix_sb_web_sessions_expires_at", "sb_web_sessions", ["expires_at"])
    op.create_table(
        "sb_secrets",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("ciphertext", sa.Text(), nullable=False),
        _timestamp("updated_at"),
        sa.Column("updated_by", sa.String(150), nullable=True),
    )
    op.create_table(
        "sb_audit_log",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        _timestamp("at"),
        sa.Column("username", sa.String(150), nullable=True),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
    )
    op.create_index("ix_sb_audit_log_at", "sb_audit_log", ["at"])


def downgrade() -> None:
    for table in ("sb_audit_log", "sb_secrets", "sb_web_sessions", "sb_api_tokens", "sb_users"):
        op.drop_table(table)
