"""Bring a database to the newest schema with Alembic (run by `serve`, `worker` and tests)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

from zoetrope.errors import ConfigError

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"

# The key of the PostgreSQL advisory lock that migrating processes queue for ("Zoetrope" in ASCII):
# any fixed bigint would do, as long as every version of Zoetrope uses the same one.
MIGRATION_LOCK_KEY = 0x5A6F_6574_726F_7065


def alembic_config(url: str | None = None) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply every migration up to `revision`; safe to call on every start, from any number of
    processes at once: they take turns, and the ones that wait find the schema migrated."""
    cfg = alembic_config()
    with _postgres_lock(engine) if engine.dialect.name == "postgresql" else nullcontext():
        with engine.connect() as conn:
            # SQLite: BEGIN IMMEDIATE takes the write lock before Alembic reads the version, so a
            # second process waits for the first to commit (busy timeout) instead of reading the old
            # schema and failing to write. Alembic adds no transaction of its own to one already begun.
            conn.info["immediate"] = engine.dialect.name == "sqlite"
            try:
                with conn.begin():
                    _check_schema_is_ours(conn, cfg)
                    cfg.attributes["connection"] = conn
                    command.upgrade(cfg, revision)
            finally:
                conn.info["immediate"] = False


def _check_schema_is_ours(conn: Connection, cfg: AlembicConfig) -> None:
    """ConfigError, before any change, when the database is at a schema revision these migrations do
    not have (a newer Zoetrope migrated it: one node upgraded before this one, and this code would
    misread its tables), or was never migrated yet holds tables of Zoetrope's names (another
    application's database)."""
    script = ScriptDirectory.from_config(cfg)
    known = {rev.revision for rev in script.walk_revisions()}
    current = MigrationContext.configure(conn).get_current_heads()
    unknown = [rev for rev in current if rev not in known]
    url = conn.engine.url.render_as_string(hide_password=True)
    if not current:  # never migrated: it must not hold tables of the names Zoetrope would create
        from zoetrope.access import models as _access_models  # noqa: F401  (registers the tables)
        from zoetrope.db import Base
        from zoetrope.jobs import models as _jobs_models  # noqa: F401

        taken = sorted(set(inspect(conn).get_table_names()) & set(Base.metadata.tables))
        if taken:
            raise ConfigError(
                f"the database at {url} already has tables Zoetrope did not make ({', '.join(taken[:3])}): "
                "it is another application's; point ZOETROPE_DATABASE_URL at a database of Zoetrope's own",
                param="ZOETROPE_DATABASE_URL",
            )
    if unknown:
        raise ConfigError(
            f"the database at {url} is at schema revision {', '.join(unknown)}, which this Zoetrope does not "
            f"know (its newest is {script.get_current_head()}): a newer Zoetrope migrated it; install that "
            "version on this machine too, or point ZOETROPE_DATABASE_URL at another database",
            param="ZOETROPE_DATABASE_URL",
        )


@contextmanager
def _postgres_lock(engine: Engine) -> Iterator[None]:
    """Hold the migration advisory lock, on a connection of its own, until the block ends. A
    session-level lock, not a transaction's: it does not depend on how Alembic commits."""
    with engine.connect() as conn:
        if not _try_lock(conn):
            log.info("waiting for another process to finish migrating the database")
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        conn.commit()  # the lock outlives the transaction; the connection is not left idle in one
        try:
            yield
        finally:
            try:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
                conn.commit()
            except Exception:  # noqa: BLE001 - the connection is broken: closing it ends the lock
                log.warning("could not release the migration lock; closing its connection", exc_info=True)
                conn.invalidate()


def _try_lock(conn: Connection) -> bool:
    return bool(conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY}).scalar())
