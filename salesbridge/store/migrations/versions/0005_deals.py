"""Partner deal registration: the deals partners register, synced as Leads or Opportunities.

The table is prefixed ``sb_`` like the hub's own tables because it lives in the app's database beside the
app's tables: an app may well have a ``deals`` table of its own.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sb_deals",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        sa.Column("partner", sa.String(100), nullable=False),
        sa.Column("partner_deal_id", sa.String(100), nullable=False),
        sa.Column("company", sa.String(255), nullable=False),
        sa.Column("end_user_first_name", sa.String(40), nullable=True),
        sa.Column("end_user_last_name", sa.String(80), nullable=False),
        sa.Column("end_user_email", sa.String(80), nullable=True),
        sa.Column("title", sa.String(120), nullable=False),
        sa.Column("amount", sa.Numeric(18, 2), nullable=True),
        sa.Column("close_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(40), nullable=False, server_default="Submitted"),
        sa.Column("sf_id", sa.String(18), nullable=True),
        sa.Column("sf_object", sa.String(40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("partner", "partner_deal_id", name="uq_sb_deals_partner_deal"),
    )
    op.create_index("ix_sb_deals_end_user_email", "sb_deals", ["end_user_email"])


def downgrade() -> None:
    op.drop_index("ix_sb_deals_end_user_email", table_name="sb_deals")
    op.drop_table("sb_deals")
