"""Contract requests: the requests picked up from Salesforce, company and contract profiles, documents.

``sb_contract_requests`` is the table the contracts flow keeps in step with Contract_Request__c; the others are
the hub's own records of what was approved, with the contract files' bytes (prefixed ``sb_`` like the hub's
tables: they live in the app's database beside its own tables).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _stamps() -> list[sa.Column]:
    return [sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())]


def upgrade() -> None:
    op.create_table(
        "sb_company_profiles",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        sa.Column("sf_account_id", sa.String(18), nullable=False),
        sa.Column("name", sa.String(255), nullable=True),
        *_stamps(),
        sa.UniqueConstraint("sf_account_id", name="uq_sb_company_profiles_account"),
    )
    op.create_table(
        "sb_contract_requests",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        sa.Column("sf_id", sa.String(18), nullable=True),
        sa.Column("name", sa.String(80), nullable=True),
        sa.Column("opportunity_id", sa.String(18), nullable=True),
        sa.Column("account_id", sa.String(18), nullable=True),
        sa.Column("contract_type", sa.String(40), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("contract_value", sa.Numeric(18, 2), nullable=True),
        sa.Column("status", sa.String(40), nullable=True),
        sa.Column("reviewer_comment", sa.Text(), nullable=True),
        sa.Column("company_account_id", sa.String(18), nullable=True),
        sa.Column("company_name", sa.String(255), nullable=True),
        sa.Column("picked_up_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewer", sa.String(150), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("company_profile_id", _id(), sa.ForeignKey("sb_company_profiles.id"), nullable=True),
        sa.Column("webhook_state", sa.String(20), nullable=True),
        sa.Column("webhook_error", sa.Text(), nullable=True),
        sa.Column("webhook_attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        *_stamps(),
        sa.UniqueConstraint("sf_id", name="uq_sb_contract_requests_sf_id"),
    )
    op.create_index("ix_sb_contract_requests_status", "sb_contract_requests", ["status"])
    op.create_table(
        "sb_contract_profiles",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        sa.Column("request_id", _id(), sa.ForeignKey("sb_contract_requests.id"), nullable=False),
        sa.Column("company_profile_id", _id(), sa.ForeignKey("sb_company_profiles.id"), nullable=False),
        sa.Column("sf_opportunity_id", sa.String(18), nullable=True),
        sa.Column("contract_type", sa.String(40), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("contract_value", sa.Numeric(18, 2), nullable=True),
        sa.Column("status", sa.String(40), nullable=False, server_default="Approved"),
        *_stamps(),
        sa.UniqueConstraint("request_id", name="uq_sb_contract_profiles_request"),
    )
    op.create_table(
        "sb_contract_documents",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        sa.Column("request_id", _id(), sa.ForeignKey("sb_contract_requests.id"), nullable=False),
        sa.Column("contract_profile_id", _id(), sa.ForeignKey("sb_contract_profiles.id"), nullable=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("checksum", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("sf_content_document_id", sa.String(18), nullable=True),
        sa.Column("sf_content_version_id", sa.String(18), nullable=True),
        sa.Column("sf_opportunity_link_id", sa.String(18), nullable=True),
        sa.Column("shared_at", sa.DateTime(timezone=True), nullable=True),
        *_stamps(),
    )
    op.create_index("ix_sb_contract_documents_request", "sb_contract_documents", ["request_id"])


def downgrade() -> None:
    op.drop_index("ix_sb_contract_documents_request", table_name="sb_contract_documents")
    op.drop_table("sb_contract_documents")
    op.drop_table("sb_contract_profiles")
    op.drop_index("ix_sb_contract_requests_status", table_name="sb_contract_requests")
    op.drop_table("sb_contract_requests")
    op.drop_table("sb_company_profiles")
