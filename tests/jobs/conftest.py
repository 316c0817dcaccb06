"""Store fixtures: a migrated database on SQLite (file, WAL) and on PostgreSQL (own schema)."""

from __future__ import annotations

import os
import secrets
from importlib import resources
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from zoetrope.db import make_engine
from zoetrope.jobs.migrate import upgrade

PG_URL = os.environ.get("ZOETROPE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def reachable_postgres():
    """An engine on the test PostgreSQL server, or the test skipped when the server is unreachable
    (the only reason to skip)."""
    try:
        admin = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with admin.connect() as c:
            c.execute(text("select 1"))
    except Exception as e:
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}: {e}")
    return admin


def _postgres_engine():
    admin = reachable_postgres()
    schema = f"zt_test_{secrets.token_hex(6)}"
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"}, pool_size=10)
    return engine, admin, schema


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request, tmp_path):
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'jobs.db'}")
        upgrade(eng)
        yield eng
        eng.dispose()
        return
    eng, admin, schema = _postgres_engine()
    upgrade(eng)
    yield eng
    eng.dispose()
    with admin.begin() as c:
        c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture()
def alice(engine):
    """A pro account's principal, as a key authenticates it: who the submit tests submit as."""
    from zoetrope.access.accounts import open_account
    from zoetrope.access.keys import authenticate, create_key
    from zoetrope.db import transaction

    with transaction(engine, immediate=True) as s:
        account = open_account(s, "alice", plan="pro")
        return authenticate(s, create_key(s, account.id)[1])


def slow_model_config(folder: str | os.PathLike) -> Path:
    """A config file in `folder`: the shipped defaults plus the `slow-test` model (tests/jobs/slow_backend.py)."""
    config = Path(folder) / "zoetrope.toml"
    defaults = resources.files("zoetrope.config").joinpath("defaults.toml").read_text()
    config.write_text(
        defaults + '\n[[models]]\nname = "slow-test"\nbackend = "tests.jobs.slow_backend:SlowBackend"\n'
    )
    return config
