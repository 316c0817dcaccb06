"""The Alembic chain creates the access tables exactly as the models declare them."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from zoetrope.db import Base, make_engine
from zoetrope.jobs.migrate import upgrade

ACCESS_TABLES = {
    "accounts", "api_keys", "charges", "ledger_entries", "usage_events", "account_balances", "plan_changes"
}  # fmt: skip


def test_migrations_to_head_create_the_access_tables_matching_the_models(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    assert ACCESS_TABLES <= set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    ours = [d for d in diff if any(t in repr(d) for t in ACCESS_TABLES)]
    assert ours == []
    engine.dispose()


def test_the_balances_migration_starts_every_account_from_its_ledger(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0004")
    entries = [("acct_a", "credits", 1000), ("acct_a", "credits", -20), ("acct_a", "points", 250),
               ("acct_b", "credits", 500), ("acct_b", "credits", -500)]  # fmt: skip
    with engine.begin() as conn:
        for name in ("acct_a", "acct_b", "acct_c"):
            conn.execute(
                text("INSERT INTO accounts (id, name, plan, country, birth_date, seats, is_admin, created_at) "
                     "VALUES (:id, :id, 'plus', 'US', '1990-01-01', 1, 0, '2025-06-01')"),
                {"id": name},
            )  # fmt: skip
        for i, (account, currency, amount) in enumerate(entries):
            conn.execute(
                text("INSERT INTO ledger_entries (key, account_id, kind, currency, amount, note, created_at) "
                     "VALUES (:key, :account, 'grant', :currency, :amount, '', '2025-06-01')"),
                {"key": f"k{i}", "account": account, "currency": currency, "amount": amount},
            )  # fmt: skip
    upgrade(engine)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT account_id, currency, amount FROM account_balances")).all()
    assert sorted(map(tuple, rows)) == [("acct_a", "credits", 980), ("acct_a", "points", 250), ("acct_b", "credits", 0)]
    engine.dispose()


def test_the_plan_history_migration_starts_each_account_with_its_plan_since_it_was_made(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(engine, "0006")
    with engine.begin() as conn:
        for name, plan, seats, made in (("acct_a", "pro", 1, "2025-06-01"), ("acct_t", "team", 4, "2025-07-15")):
            conn.execute(
                text("INSERT INTO accounts (id, name, plan, country, birth_date, seats, is_admin, created_at) "
                     "VALUES (:id, :id, :plan, 'US', '1990-01-01', :seats, 0, :made)"),
                {"id": name, "plan": plan, "seats": seats, "made": made},
            )  # fmt: skip
    upgrade(engine)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT account_id, plan, seats, substr(at, 1, 10) FROM plan_changes")).all()
    assert sorted(map(tuple, rows)) == [("acct_a", "pro", 1, "2025-06-01"), ("acct_t", "team", 4, "2025-07-15")]
    engine.dispose()
