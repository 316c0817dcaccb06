"""access: PostgreSQL triggers that announce a revoked key or a disabled account on the channel
`zoetrope_access_revoked` (`key:<id>` / `account:<id>`), which every API server LISTENs on to
forget its cached entry at once; SQLite has no NOTIFY, and there the cache re-reads instead

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_CHANNEL = "zoetrope_access_revoked"
_TRIGGER = "zoetrope_access_revoked"
# One function per table: PL/pgSQL resolves NEW.<column> when it runs, on the table that fired.
_TABLES = {
    "api_keys": ("zoetrope_notify_key_revoked", "key", "revoked_at"),
    "accounts": ("zoetrope_notify_account_disabled", "account", "disabled_at"),
}
_FUNCTION = """
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('{channel}', '{kind}:' || OLD.id);
    ELSIF NEW.{column} IS NOT NULL AND OLD.{column} IS NULL THEN
        PERFORM pg_notify('{channel}', '{kind}:' || NEW.id);
    END IF;
    RETURN NULL;
END
$$"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, (name, kind, column) in _TABLES.items():
        op.execute(_FUNCTION.format(name=name, channel=_CHANNEL, kind=kind, column=column))
        op.execute(f"DROP TRIGGER IF EXISTS {_TRIGGER} ON {table}")
        op.execute(
            f"CREATE TRIGGER {_TRIGGER} AFTER UPDATE OF {column} OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {name}()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, (name, _kind, _column) in _TABLES.items():
        op.execute(f"DROP TRIGGER IF EXISTS {_TRIGGER} ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {name}()")
