"""A node whose Zoetrope is older than the one that migrated the shared database refuses to start
with one line naming the setting, and leaves the database as it found it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import text

from zoetrope.db import make_engine
from zoetrope.errors import ConfigError
from zoetrope.jobs.migrate import upgrade

NEWER = "0999"


def _stamp(engine, revision: str) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": revision})


def _version(engine) -> list[str]:
    with engine.connect() as conn:
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()


def test_a_database_migrated_by_a_newer_release_is_refused_and_left_alone(engine):
    _stamp(engine, NEWER)
    with pytest.raises(ConfigError) as raised:
        upgrade(engine)
    assert raised.value.param == "ZOETROPE_DATABASE_URL"
    assert NEWER in raised.value.message and "newer Zoetrope" in raised.value.message
    assert _version(engine) == [NEWER]


def test_a_command_on_such_a_database_says_so_in_one_line(tmp_path):
    url = f"sqlite:///{tmp_path / 'zoetrope.db'}"
    engine = make_engine(url)
    upgrade(engine)
    _stamp(engine, NEWER)
    engine.dispose()
    env = {**os.environ, "ZOETROPE_DATA_DIR": str(tmp_path), "ZOETROPE_DATABASE_URL": url}
    done = subprocess.run(
        [sys.executable, "-m", "zoetrope", "keys", "list"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert f"error (ZOETROPE_DATABASE_URL): the database at {url} is at schema revision {NEWER}" in done.stderr


def test_another_applications_database_is_refused_and_left_alone(tmp_path):
    url = f"sqlite:///{tmp_path / 'theirs.db'}"
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE jobs (id INTEGER PRIMARY KEY, name TEXT)"))
    with pytest.raises(ConfigError) as raised:
        upgrade(engine)
    assert raised.value.param == "ZOETROPE_DATABASE_URL"
    assert "already has tables Zoetrope did not make (jobs)" in raised.value.message
    with engine.connect() as conn:
        tables = conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'")).scalars().all()
    assert tables == ["jobs"]
    engine.dispose()
