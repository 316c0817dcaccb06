"""access: running account balances, so a balance is one row instead of a sum over the ledger

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_balances",
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("account_id", "currency"),
    )
    # Start every existing account from its ledger, in the same transaction as the table.
    op.execute(
        "INSERT INTO account_balances (account_id, currency, amount) "
        "SELECT account_id, currency, SUM(amount) FROM ledger_entries GROUP BY account_id, currency"
    )


def downgrade() -> None:
    op.drop_table("account_balances")
