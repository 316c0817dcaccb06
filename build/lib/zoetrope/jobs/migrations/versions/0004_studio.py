"""studio: people who sign in with email and password, and videos published to Explore

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "studio_users",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("email"),
    )
    op.create_index("ix_studio_users_account_id", "studio_users", ["account_id"])
    op.create_table(
        "published_videos",
        sa.Column("job_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("job_id"),
    )
    op.create_index("ix_published_videos_account_id", "published_videos", ["account_id"])
    op.create_index("ix_published_videos_published_at", "published_videos", ["published_at"])


def downgrade() -> None:
    op.drop_index("ix_published_videos_published_at", table_name="published_videos")
    op.drop_index("ix_published_videos_account_id", table_name="published_videos")
    op.drop_table("published_videos")
    op.drop_index("ix_studio_users_account_id", table_name="studio_users")
    op.drop_table("studio_users")
