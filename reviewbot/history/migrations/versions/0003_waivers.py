"""Waivers: findings a maintainer accepted, tied to the file's content (``/reviewbot accept``).

Revision ID: 0003
Revises: 0001
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from reviewbot.history.schema import UTCDateTime

revision: str = "0003"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "waivers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("repo", sa.String(255), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("rule", sa.String(255), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("content", sa.String(64), nullable=False),
        sa.Column("accepted_by", sa.String(255), nullable=False),
        sa.Column("accepted_at", UTCDateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_waivers"),
        sa.UniqueConstraint(
            "platform", "repo", "number", "rule", "path", "content", name="uq_waivers_platform"
        ),
    )
    op.create_index("ix_waivers_contribution", "waivers", ["platform", "repo", "number"])


def downgrade() -> None:
    op.drop_index("ix_waivers_contribution", table_name="waivers")
    op.drop_table("waivers")
