"""The database engine and session factory shared by the layers that persist (jobs, access).

SQLite (WAL) is the embedded default; PostgreSQL (psycopg 3) is the scale-out engine.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker


class Base(DeclarativeBase):
    """Declarative base of every table Zoetrope owns."""


# SQLite has one writer at a time. Threads of one process that wait for it in SQLite's busy
# handler sleep in steps of up to 100 ms, however soon the lock frees; waiting on a lock of our
# own instead hands the write lock over at once. Other processes still meet the busy timeout.
_write_locks: dict[str, threading.RLock] = {}
_write_locks_guard = threading.Lock()


def _write_lock(engine: Engine) -> threading.RLock:
    key = str(engine.url.database or "")
    with _write_locks_guard:
        return _write_locks.setdefault(key, threading.RLock())


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL, a busy timeout and foreign keys."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # A connection per busy thread (API threadpool, workers, heartbeats) rather than a queue for five.
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, pool_size=16, max_overflow=48
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:
            # Let SQLAlchemy, not pysqlite, decide when transactions begin (needed for BEGIN IMMEDIATE).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get("immediate") else "BEGIN")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    return make_engine(url)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(engine: Engine, *, immediate: bool = False) -> Iterator[Session]:
    """A session in one transaction, committed on success and rolled back on error.

    `immediate=True` takes SQLite's write lock at BEGIN, which is how a claim is made atomic
    there; PostgreSQL claims use `FOR UPDATE SKIP LOCKED` instead and ignore the flag.
    """
    immediate = immediate and engine.dialect.name == "sqlite"
    with _write_lock(engine) if immediate else nullcontext(), engine.connect() as conn:
        conn.info["immediate"] = immediate
        try:
            with conn.begin(), Session(bind=conn, expire_on_commit=False) as session:
                yield session
                session.flush()
        finally:
            conn.info["immediate"] = False
