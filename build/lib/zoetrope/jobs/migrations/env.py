"""Alembic environment: migrates the connection `zoetrope.jobs.migrate` hands in, or the URL
in `sqlalchemy.url` when Alembic's own command line is used."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

from zoetrope.access import models as _access_models  # noqa: F401  (registers the tables)
from zoetrope.db import Base
from zoetrope.jobs import models as _jobs_models  # noqa: F401

config = context.config
target_metadata = Base.metadata


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = engine_from_config(
        config.get_section(config.config_ini_section) or {}, prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    with engine.connect() as conn:
        _run(conn)
