"""The review history: contributions, reviews, state changes.

Revision ID: 0001
Revises:
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from reviewbot.history.schema import UTCDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "contributions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("repo", sa.String(255), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("author", sa.String(255), nullable=False),
        sa.Column("first_time", sa.Boolean(), nullable=False),
        sa.Column("base_models", sa.JSON(), nullable=False),
        sa.Column("licence", sa.String(255), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_contributions"),
        sa.UniqueConstraint("platform", "repo", "number", name="uq_contributions_platform"),
    )
    op.create_index("ix_contributions_state", "contributions", ["state"])
    op.create_index("ix_contributions_opened_at", "contributions", ["opened_at"])
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contribution_id", sa.Integer(), nullable=False),
        sa.Column("head_sha", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("requested_by", sa.String(255), nullable=True),
        sa.Column("verdict", sa.String(8), nullable=False),
        sa.Column("critical", sa.Integer(), nullable=False),
        sa.Column("high", sa.Integer(), nullable=False),
        sa.Column("medium", sa.Integer(), nullable=False),
        sa.Column("low", sa.Integer(), nullable=False),
        sa.Column("info", sa.Integer(), nullable=False),
        sa.Column("worst_rule", sa.String(255), nullable=True),
        sa.Column("worst_severity", sa.String(16), nullable=True),
        sa.Column("worst_path", sa.Text(), nullable=True),
        sa.Column("worst_message", sa.Text(), nullable=True),
        sa.Column("findings", sa.JSON(), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("hub_scan", sa.JSON(), nullable=True),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=False),
        sa.Column("duration_seconds", sa.Float(), nullable=False),
        sa.Column("reviewbot_version", sa.String(32), nullable=False),
        sa.Column("policy_fingerprint", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["contribution_id"],
            ["contributions.id"],
            name="fk_reviews_contribution_id_contributions",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_reviews"),
    )
    op.create_index("ix_reviews_latest", "reviews", ["contribution_id", "finished_at", "id"])
    op.create_index("ix_reviews_verdict", "reviews", ["verdict"])
    op.create_index("ix_reviews_finished_at", "reviews", ["finished_at"])
    op.create_table(
        "state_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contribution_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contribution_id"],
            ["contributions.id"],
            name="fk_state_changes_contribution_id_contributions",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_state_changes"),
    )
    op.create_index("ix_state_changes_contribution", "state_changes", ["contribution_id", "at"])


def downgrade() -> None:
    op.drop_table("state_changes")
    op.drop_table("reviews")
    op.drop_table("contributions")
