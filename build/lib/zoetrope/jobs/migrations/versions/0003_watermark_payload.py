"""jobs: the invisible watermark's payload, so verify finds a job from the mark alone

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("watermark_payload", sa.String(length=8), nullable=True))
        batch_op.create_index("ix_jobs_watermark_payload", ["watermark_payload"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_watermark_payload")
        batch_op.drop_column("watermark_payload")
