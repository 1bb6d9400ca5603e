"""Lead pipeline: the lead/pipeline tool's companies, contacts and leads (salesbridge/flows/pipeline/).

The tables are the tool's own, written as the tool writes them (the change log sees every write); the hub keeps
them in step with Accounts, Contacts and Leads. ``company_id`` holds the row id of a company without a foreign
key: the tool may delete a company before its contacts, and the sync must then report, not fail on insert.
Ids are never re-used (AUTOINCREMENT on SQLite, which otherwise gives a deleted highest id to the next row): a
contact naming a deleted company must not silently name the next company made.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _stamps() -> list[sa.Column]:
    """Filled by the database too: rows the hub imports from Salesforce carry only the mapped columns."""
    return [sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                      server_default=sa.func.current_timestamp()),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False,
                      server_default=sa.func.current_timestamp())]


def upgrade() -> None:
    op.create_table(
        "sb_pipeline_companies",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("website", sa.String(255), nullable=True),
        sa.Column("phone", sa.String(40), nullable=True),
        sa.Column("sf_id", sa.String(18), nullable=True),
        *_stamps(),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "sb_pipeline_contacts",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        sa.Column("company_id", _id(), nullable=True),
        sa.Column("first_name", sa.String(40), nullable=True),
        sa.Column("last_name", sa.String(80), nullable=False),
        sa.Column("email", sa.String(80), nullable=True),
        sa.Column("phone", sa.String(40), nullable=True),
        sa.Column("title", sa.String(128), nullable=True),
        sa.Column("sf_id", sa.String(18), nullable=True),
        *_stamps(),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_sb_pipeline_contacts_company_id", "sb_pipeline_contacts", ["company_id"])
    op.create_table(
        "sb_pipeline_leads",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        sa.Column("first_name", sa.String(40), nullable=True),
        sa.Column("last_name", sa.String(80), nullable=False),
        sa.Column("company", sa.String(255), nullable=False),
        sa.Column("email", sa.String(80), nullable=True),
        sa.Column("phone", sa.String(40), nullable=True),
        sa.Column("title", sa.String(128), nullable=True),
        sa.Column("stage", sa.String(40), nullable=False, server_default="New"),
        sa.Column("owner_email", sa.String(80), nullable=True),
        sa.Column("sf_id", sa.String(18), nullable=True),
        *_stamps(),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_sb_pipeline_leads_stage", "sb_pipeline_leads", ["stage"])


def downgrade() -> None:
    op.drop_index("ix_sb_pipeline_leads_stage", table_name="sb_pipeline_leads")
    op.drop_table("sb_pipeline_leads")
    op.drop_index("ix_sb_pipeline_contacts_company_id", table_name="sb_pipeline_contacts")
    op.drop_table("sb_pipeline_contacts")
    op.drop_table("sb_pipeline_companies")
