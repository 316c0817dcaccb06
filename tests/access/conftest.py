"""Database fixtures for the access tests: a fresh SQLite file, and a private PostgreSQL schema."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, event, text

import zoetrope.access  # noqa: F401  (registers the tables on Base)
from zoetrope.db import Base, make_engine

PG_URL = os.environ.get("ZOETROPE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture
def sqlite_engine(tmp_path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'access.db'}")
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


def _pg_reachable() -> bool:
    try:
        probe = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with probe.connect():
            pass
        probe.dispose()
        return True
    except Exception:
        return False


@pytest.fixture
def pg_engine() -> Iterator[Engine]:
    """An engine whose connections live in a schema of their own, dropped afterwards."""
    if not _pg_reachable():
        pytest.skip(f"PostgreSQL unreachable at {PG_URL}")
    schema = f"access_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_engine(PG_URL, pool_size=20, max_overflow=10)

    @event.listens_for(engine, "connect")
    def _search_path(dbapi_conn, _record) -> None:
        cur = dbapi_conn.cursor()
        cur.execute(f'SET search_path TO "{schema}"')
        cur.close()
        dbapi_conn.commit()

    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request) -> Engine:
    """Both engines, so every persistence test runs on SQLite and PostgreSQL."""
    return request.getfixturevalue("sqlite_engine" if request.param == "sqlite" else "pg_engine")


def access_app(engine: Engine):
    """A FastAPI app serving only the access routes (accounts, keys, credits, invoices) over `engine`."""
    from types import SimpleNamespace

    from fastapi import FastAPI

    from zoetrope.api import errors
    from zoetrope.api.deps import new_principal_cache
    from zoetrope.api.routes import access

    app = FastAPI()
    app.state.services = SimpleNamespace(engine=engine)
    app.state.principals = new_principal_cache()
    errors.install(app)
    app.include_router(access.router)
    return app
