"""access: the `zoetrope_access_revoked` triggers also announce a change to what a key or an
account may do (a key's allowed models or quota; an account's plan, seats, quota or admin right),
so every API server forgets its cached entry at once instead of serving the old rights for up to
the cache's lifetime; other updates (a key's last_used_at, written on requests) stay silent.
SQLite has no NOTIFY, and there the cache re-reads instead

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_CHANNEL = "zoetrope_access_revoked"
_TRIGGER = "zoetrope_access_revoked"
# table -> (function, payload kind, the revocation column, the columns whose change is announced).
# JSON columns compare as jsonb: json has no equality operator.
_TABLES = {
    "api_keys": ("zoetrope_notify_key_revoked", "key", "revoked_at", ("allowed_models::jsonb", "quota::jsonb")),
    "accounts": ("zoetrope_notify_account_disabled", "account", "disabled_at",
                 ("plan", "seats", "quota::jsonb", "is_admin")),
}  # fmt: skip
_FUNCTION = """
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('{channel}', '{kind}:' || OLD.id);
    ELSIF (NEW.{column} IS NOT NULL AND OLD.{column} IS NULL) OR {changed} THEN
        PERFORM pg_notify('{channel}', '{kind}:' || NEW.id);
    END IF;
    RETURN NULL;
END
$$"""
# As revision 0009 left them, for the downgrade.
_FUNCTION_0009 = """
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


def _column(expr: str) -> str:
    return expr.split("::")[0]


def _install(function: str, with_changes: bool) -> None:
    for table, (name, kind, column, watched) in _TABLES.items():
        changed = " OR ".join(f"OLD.{e} IS DISTINCT FROM NEW.{e}" for e in watched)
        op.execute(function.format(name=name, channel=_CHANNEL, kind=kind, column=column, changed=changed))
        columns = ", ".join([column, *(_column(e) for e in watched)] if with_changes else [column])
        op.execute(f"DROP TRIGGER IF EXISTS {_TRIGGER} ON {table}")
        op.execute(
            f"CREATE TRIGGER {_TRIGGER} AFTER UPDATE OF {columns} OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {name}()"
        )


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _install(_FUNCTION, with_changes=True)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _install(_FUNCTION_0009, with_changes=False)
