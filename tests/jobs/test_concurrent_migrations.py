"""Processes that start together on a new database migrate it once, and none of them fails."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import create_engine, make_url, text

from zoetrope.db import make_engine
from zoetrope.jobs.migrate import MIGRATION_LOCK_KEY, alembic_config, upgrade

PG_URL = os.environ.get("ZOETROPE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PROCESSES = 4

# Each process imports everything first, says it is ready, then waits for the go file, so the
# upgrades start within a millisecond of each other rather than an import's length apart.
MIGRATE = """
import sys, time
from pathlib import Path
from zoetrope.db import make_engine
from zoetrope.jobs.migrate import upgrade
url, ready, go = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
engine = make_engine(url)
ready.touch()
while not go.exists():
    time.sleep(0.001)
upgrade(engine)
"""


def _migrate_together(url: str, tmp_path: Path) -> list[subprocess.CompletedProcess]:
    go = tmp_path / "go"
    ready = [tmp_path / f"ready-{i}" for i in range(PROCESSES)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", MIGRATE, url, str(r), str(go)], stderr=subprocess.PIPE, text=True
        )
        for r in ready
    ]
    deadline = time.monotonic() + 60
    while not all(r.exists() for r in ready) and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()
    errors = [p.communicate(timeout=120)[1] for p in procs]
    return [
        subprocess.CompletedProcess(p.args, p.returncode, None, e) for p, e in zip(procs, errors, strict=True)
    ]


def _assert_at_head_once(url: str, results: list[subprocess.CompletedProcess]) -> None:
    errors = [
        [line for line in r.stderr.splitlines() if "Error" in line][-1:] for r in results if r.returncode
    ]
    assert errors == []
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    engine = create_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [head]
    engine.dispose()


def test_processes_starting_together_on_a_new_sqlite_file_migrate_it_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    _assert_at_head_once(url, _migrate_together(url, tmp_path))


@pytest.fixture
def fresh_postgres_database():
    """The URL of a PostgreSQL database created for the test (empty, as a new deployment's is)."""
    try:
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as e:  # the server is unreachable: the only reason to skip
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {e}")
    name = f"zt_fresh_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.mark.postgres
def test_processes_starting_together_on_a_new_postgres_database_migrate_it_once(
    fresh_postgres_database, tmp_path
):
    url = fresh_postgres_database
    _assert_at_head_once(url, _migrate_together(url, tmp_path))


@pytest.mark.postgres
def test_a_failed_migration_releases_the_lock_for_the_next_process(fresh_postgres_database):
    engine = make_engine(fresh_postgres_database)
    with pytest.raises(CommandError):
        upgrade(engine, "no-such-revision")
    other = create_engine(fresh_postgres_database)  # another session, as another process's would be
    with other.connect() as conn:
        assert conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY}).scalar()
    other.dispose()
    engine.dispose()
