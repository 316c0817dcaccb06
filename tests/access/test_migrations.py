"""The Alembic chain creates the access tables exactly as the models declare them."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from zoetrope.db import Base, make_engine
from zoetrope.jobs.migrate import upgrade

ACCESS_TABLES = {"accounts", "api_keys", "charges", "ledger_entries", "usage_events"}


def test_migrations_to_head_create_the_access_tables_matching_the_models(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    upgrade(engine)
    assert ACCESS_TABLES <= set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    ours = [d for d in diff if any(t in repr(d) for t in ACCESS_TABLES)]
    assert ours == []
    engine.dispose()
