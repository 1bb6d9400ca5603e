"""Subscription renewals: the flow's tables (salesbridge/flows/renewals/).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Reserved in the revision chain for the renewals flow's tables."""


def downgrade() -> None:
    """Nothing to undo yet."""
