"""Contract requests: the flow's tables (salesbridge/flows/contracts/).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Reserved in the revision chain for the contracts flow's tables."""


def downgrade() -> None:
    """Nothing to undo yet."""
