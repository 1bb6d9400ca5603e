"""Subscription renewals: subscriptions, their change orders and sales orders (salesbridge/flows/renewals/).

A subscription belongs to a customer that is a Salesforce Account: ``account_id`` keeps that Account's Id
(billing knows its customers by the Account they were sold to). A change order points at the subscription it
changes and, for a renewal, at the draft renewal subscription and the sales order it produced; a sales order
keeps the change order it came from and the subscription it sells. Tables are prefixed ``sb_`` because they
live in the app's database beside the app's own tables.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _stamps() -> list[sa.Column[object]]:
    return [sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False)]


def upgrade() -> None:
    op.create_table(
        "sb_subscriptions",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("account_id", sa.String(18), nullable=False),
        sa.Column("plan", sa.String(100), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.Numeric(18, 2), nullable=False),
        sa.Column("term_months", sa.Integer(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(40), nullable=False, server_default="Active"),
        sa.Column("renewed_from_id", _id(), sa.ForeignKey("sb_subscriptions.id"), nullable=True),
        sa.Column("sf_id", sa.String(18), nullable=True),
        *_stamps(),
    )
    op.create_index("ix_sb_subscriptions_account_id", "sb_subscriptions", ["account_id"])
    op.create_table(
        "sb_sales_orders",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("subscription_id", _id(), sa.ForeignKey("sb_subscriptions.id"), nullable=False),
        sa.Column("change_order_id", _id(), nullable=True),
        sa.Column("account_id", sa.String(18), nullable=False),
        sa.Column("amount", sa.Numeric(18, 2), nullable=True),
        sa.Column("close_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(40), nullable=False, server_default="Draft"),
        sa.Column("sf_id", sa.String(18), nullable=True),
        *_stamps(),
    )
    op.create_index("ix_sb_sales_orders_change_order_id", "sb_sales_orders", ["change_order_id"])
    op.create_table(
        "sb_subscription_change_orders",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        sa.Column("subscription_id", _id(), sa.ForeignKey("sb_subscriptions.id"), nullable=False),
        sa.Column("order_type", sa.String(20), nullable=False),
        sa.Column("transaction_type", sa.String(20), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=True),
        sa.Column("unit_price", sa.Numeric(18, 2), nullable=True),
        sa.Column("status", sa.String(20), nullable=False, server_default="Open"),
        sa.Column("renewal_subscription_id", _id(), sa.ForeignKey("sb_subscriptions.id"), nullable=True),
        sa.Column("sales_order_id", _id(), sa.ForeignKey("sb_sales_orders.id"), nullable=True),
        sa.Column("notes", sa.String(255), nullable=True),
        sa.Column("sf_id", sa.String(18), nullable=True),
        *_stamps(),
    )
    op.create_index("ix_sb_subscription_change_orders_subscription_id", "sb_subscription_change_orders",
                    ["subscription_id"])


def downgrade() -> None:
    op.drop_index("ix_sb_subscription_change_orders_subscription_id", table_name="sb_subscription_change_orders")
    op.drop_table("sb_subscription_change_orders")
    op.drop_index("ix_sb_sales_orders_change_order_id", table_name="sb_sales_orders")
    op.drop_table("sb_sales_orders")
    op.drop_index("ix_sb_subscriptions_account_id", table_name="sb_subscriptions")
    op.drop_table("sb_subscriptions")
