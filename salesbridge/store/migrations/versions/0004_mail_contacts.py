"""Mail and contacts: messages saved as Tasks (by Message-ID) and vCard <-> Contact/Lead links.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "sb_mail_messages",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        sa.Column("message_key", sa.String(255), nullable=False),
        sa.Column("message_id", sa.Text(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("task_id", sa.String(18), nullable=True),
        sa.Column("who_id", sa.String(18), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("folder", sa.Text(), nullable=True),
        *_timestamps(),
        sa.UniqueConstraint("message_key", name="uq_sb_mail_messages_message_key"),
    )
    op.create_table(
        "sb_card_links",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        sa.Column("uid", sa.String(255), nullable=False),
        sa.Column("address_book", sa.Text(), nullable=False),
        sa.Column("href", sa.Text(), nullable=False),
        sa.Column("etag", sa.String(255), nullable=True),
        sa.Column("sf_object", sa.String(40), nullable=False),
        sa.Column("sf_id", sa.String(18), nullable=True),
        sa.Column("sf_modstamp", sa.String(40), nullable=True),
        sa.Column("card_hash", sa.String(128), nullable=True),
        sa.Column("sf_hash", sa.String(128), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        *_timestamps(),
        sa.UniqueConstraint("uid", name="uq_sb_card_links_uid"),
        sa.UniqueConstraint("sf_id", name="uq_sb_card_links_sf_id"),
    )


def downgrade() -> None:
    op.drop_table("sb_card_links")
    op.drop_table("sb_mail_messages")
