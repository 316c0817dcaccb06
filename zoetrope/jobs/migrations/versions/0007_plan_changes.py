"""access: the history of each account's plan and seats, so an invoice bills the month's plans

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "plan_changes",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("plan", sa.String(length=40), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_plan_changes_account_at", "plan_changes", ["account_id", "at"])
    # What is known of an existing account's history: the plan it has now, since it was made.
    op.execute(
        "INSERT INTO plan_changes (account_id, plan, seats, at) SELECT id, plan, seats, created_at FROM accounts"
    )


def downgrade() -> None:
    op.drop_index("ix_plan_changes_account_at", table_name="plan_changes")
    op.drop_table("plan_changes")
