"""The database engine and session factory shared by the layers that persist (jobs, access).

SQLite (WAL) is the embedded default; PostgreSQL (psycopg 3) is the scale-out engine.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from functools import lru_cache
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

from sqlalchemy import Connection, CursorResult, Engine, Executable, create_engine, event, make_url
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

log = logging.getLogger(__name__)


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


# A committing connection that finds the write-ahead log past `wal_autocheckpoint` pages copies it
# into the database there and then, and fsyncs it: 10-20 ms here, in whichever thread committed,
# with every request queued behind that commit waiting too. So each process that writes a database
# file has one thread that copies the log in the background instead (a PASSIVE checkpoint, which
# blocks no reader or writer), and the commit-time copy stays only as a backstop, at 10,000 pages.
CHECKPOINT_SECONDS = 0.25
BACKSTOP_PAGES = 10_000


class _Checkpointer:
    """The background checkpoints of one SQLite file, for as long as an engine on it is alive."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.engines: weakref.WeakSet[Engine] = weakref.WeakSet()
        self.thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)

    def _run(self) -> None:
        conn = None
        try:
            while True:
                time.sleep(CHECKPOINT_SECONDS)
                with _checkpointers_guard:  # decided under the lock an engine registers under
                    if not self.engines:
                        if _checkpointers.get(self.path) is self:
                            del _checkpointers[self.path]
                        return
                try:
                    if conn is None:  # mode=rw: never create the file, which the engine may not have made yet
                        conn = sqlite3.connect(f"file:{quote(self.path)}?mode=rw", uri=True, timeout=0,
                                               isolation_level=None)  # fmt: skip
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                except sqlite3.Error as exc:  # busy, gone, read-only: the commit-time backstop still holds
                    log.debug("background checkpoint of %s: %s", self.path, exc)
        finally:
            with _checkpointers_guard:
                if _checkpointers.get(self.path) is self:
                    del _checkpointers[self.path]
            if conn is not None:
                conn.close()


_checkpointers: dict[str, _Checkpointer] = {}
_checkpointers_guard = threading.Lock()


def _checkpoint_in_background(engine: Engine, path: str) -> None:
    with _checkpointers_guard:
        checkpointer = _checkpointers.get(path)
        if checkpointer is None or not checkpointer.thread.is_alive():
            checkpointer = _checkpointers[path] = _Checkpointer(path)
            checkpointer.engines.add(engine)
            checkpointer.thread.start()
        else:
            checkpointer.engines.add(engine)


# Turning a new file's journal into WAL needs its exclusive lock, and SQLite answers "database is
# locked" at once, without its busy handler, when another connection is doing the same (processes
# starting together on a new data directory). So the switch is retried, for as long as a busy
# timeout would have waited.
WAL_SWITCH_SECONDS = 30.0


def _use_wal(dbapi_conn: sqlite3.Connection) -> None:
    deadline = time.monotonic() + WAL_SWITCH_SECONDS
    pause = 0.005
    while True:
        try:
            dbapi_conn.execute("PRAGMA journal_mode=WAL").fetchone()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


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

        database = engine.url.database or ""
        background = database not in ("", ":memory:") and not database.startswith("file:")
        if background:
            _checkpoint_in_background(engine, str(Path(database).resolve()))

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:
            # Let SQLAlchemy, not pysqlite, decide when transactions begin (needed for BEGIN IMMEDIATE).
            dbapi_conn.isolation_level = None
            _use_wal(dbapi_conn)
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            if background:
                cur.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn) -> None:
            if conn.info.get("single_read"):
                return  # one SELECT in autocommit mode reads one consistent snapshot by itself
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get("immediate") else "BEGIN")

        return engine
    # A server that is away (or a link that stalls) is found within seconds, and the request that met
    # it answers 503, rather than waiting for the OS to give up on the connection.
    engine_url = make_url(url)
    connect_args = {k: v for k, v in _PG_CONNECT.items() if k not in engine_url.query}
    return create_engine(
        engine_url, pool_pre_ping=True, pool_size=10, max_overflow=20, pool_timeout=DATABASE_DEADLINE_SECONDS,
        connect_args=connect_args,
    )  # fmt: skip


# How long a request waits for the database before it answers 503 (a connection, a pool slot, a poll).
DATABASE_DEADLINE_SECONDS = 5
# libpq: give up connecting after the deadline; probe an idle connection whose peer went silent.
_PG_CONNECT = {
    "connect_timeout": DATABASE_DEADLINE_SECONDS,
    "keepalives": 1, "keepalives_idle": 10, "keepalives_interval": 5, "keepalives_count": 3,
}  # fmt: skip


async def within_deadline(work: Callable[..., T], engine: Engine, *args) -> T:
    """`work(engine, *args)`, a read, with the event loop kept free of a database that stalls.

    A server across a link runs it in the threadpool for at most DATABASE_DEADLINE_SECONDS; past
    it the caller gets sqlalchemy's TimeoutError (the API answers 503 with Retry-After) while the
    thread finishes, or fails, on its own. SQLite runs it inline: the file is local and a WAL reader
    never waits on a writer, so the thread hop would only cost (it halved the polls a second)."""
    if engine.dialect.name == "sqlite":
        return work(engine, *args)
    import anyio.to_thread

    try:
        return await asyncio.wait_for(anyio.to_thread.run_sync(work, engine, *args), DATABASE_DEADLINE_SECONDS)
    except TimeoutError:
        raise PoolTimeout(f"the database did not answer within {DATABASE_DEADLINE_SECONDS} s") from None


def python_default(column):
    """The value a column's Python-side default gives a new row (a scalar, or its function's
    result); columns whose default is SQL or absent are not asked."""
    default = column.default
    return default.arg(None) if default.is_callable else default.arg


class Prepared:
    """A write statement compiled once per database and run as driver SQL on the session's
    connection: what `session.execute(statement, params)` does, less the work done again on every
    call (the statement cache's key, the ORM's execution path, result set-up), which cost a submit's
    five writes more than SQLite took to run them (66 against 12 microseconds an INSERT).

    For INSERT, UPDATE and DELETE statements whose values are all bound parameters: the types'
    own bind processors convert the values (dates, JSON) as SQLAlchemy would; an INSERT's columns
    that `params` leaves out get their Python-side defaults. Errors are SQLAlchemy's, as from
    `execute`. Events and savepoints apply as to any statement of the connection."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._plans: dict[tuple[str, tuple[str, ...]], tuple] = {}

    def __call__(self, session: Session | Connection, params: dict) -> CursorResult:
        conn = session.connection() if isinstance(session, Session) else session
        plan = self._plans.get((conn.dialect.name, tuple(params)))
        if plan is None:
            plan = self._plans[(conn.dialect.name, tuple(params))] = self._compile(conn, tuple(params))
        sql, names, processors, defaults = plan
        if defaults:
            params = {**{column.key: python_default(column) for column in defaults}, **params}
        values = [params[name] for name in names]
        for at, process in processors:
            values[at] = process(values[at])
        return conn.exec_driver_sql(sql, tuple(values) if conn.dialect.positional else dict(zip(names, values, strict=True)))

    def _compile(self, conn: Connection, keys: tuple[str, ...]) -> tuple:
        table = getattr(self.statement, "table", None)
        defaults = []
        if self.statement.is_insert and table is not None:  # the columns SQLAlchemy would fill in
            for column in table.c:
                default = column.default
                if column.key not in keys and default is not None and (default.is_scalar or default.is_callable):
                    defaults.append(column)  # SQL expressions are rendered inline
        statement, columns = self.statement, None
        if statement.is_insert:  # inline: no RETURNING of the new row's key, which nothing reads
            statement, columns = statement.inline(), [*keys, *(c.key for c in defaults)]
        compiled = statement.compile(dialect=conn.dialect, column_keys=columns)
        names = list(compiled.positiontup) if compiled.positional else list(compiled.binds)
        processors = []
        for at, name in enumerate(names):
            process = compiled.binds[name].type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
            if process is not None:
                processors.append((at, process))
        return str(compiled), names, processors, defaults


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


@contextmanager
def single_read(engine: Engine) -> Iterator[Connection]:
    """A connection for one read statement (a poll). On SQLite it runs without BEGIN, in
    autocommit, which spares a round of the driver for each poll; elsewhere it is `connect()`."""
    with engine.connect() as conn:
        conn.info["single_read"] = True
        try:
            yield conn
        finally:
            conn.info["single_read"] = False


T = TypeVar("T")


class _Write:
    """One caller's part of a batched write: its work, then its result or its error. `turn` is
    held until the caller is to go on: its write is done, or it is to lead the next batch."""

    __slots__ = ("work", "result", "error", "done", "turn")

    def __init__(self, work: Callable[[Session], T]) -> None:
        self.work, self.result, self.error, self.done = work, None, None, False
        self.turn = threading.Lock()
        self.turn.acquire()


class _WriteBatcher:
    """Runs the writes that threads of this process queue for one SQLite database together, in
    one transaction, each in a savepoint of its own (group commit); a write alone in its batch
    needs none, as its transaction rolls back with it.

    The first caller to find no batch running leads: it takes every write queued so far and runs
    them; callers arriving meanwhile queue for the next batch, whose first caller the leader wakes
    to lead it. A write that raises rolls back only its own savepoint and hands the error to its
    caller; the others commit. So a burst of submits takes the write lock, begins and commits once
    a batch instead of once a request, and waits for no hand-over of the lock from thread to thread
    in between. With the workers in their own process contending for SQLite's lock, bench/api.py's
    create p99 was 365-444 ms with it and 856-1,211 ms with a transaction per submit (back to back,
    2 cores). Each caller is woken once, when it may go on: not with every batch that ends while it
    waits (each such wake costs the process a thread switch and a turn at the interpreter lock)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[_Write] = []
        self._leading = False

    def run(self, engine: Engine, work: Callable[[Session], T]) -> T:
        mine = _Write(work)
        with self._lock:
            self._queue.append(mine)
            lead, self._leading = not self._leading, True
        if not lead:
            mine.turn.acquire()  # released when its batch is done, or for it to lead the next one
            if mine.done:
                return _outcome(mine)
        with self._lock:
            batch, self._queue = self._queue, []
        try:
            self._run_batch(engine, batch)
        finally:
            with self._lock:
                for write in batch:
                    write.done = True
                following = self._queue[0] if self._queue else None
                self._leading = following is not None
            for write in batch:
                if write is not mine:
                    write.turn.release()
            if following is not None:
                following.turn.release()
        return _outcome(mine)

    @staticmethod
    def _run_batch(engine: Engine, batch: list[_Write]) -> None:
        if len(batch) == 1:  # alone, its transaction is its savepoint: an error rolls back just it
            write = batch[0]
            try:
                with transaction(engine, immediate=True) as session:
                    write.result = write.work(session)
            except Exception as e:  # noqa: BLE001 - handed to the caller, who raises it
                write.error, write.result = e, None
            return
        try:
            with transaction(engine, immediate=True) as session:
                for write in batch:
                    try:
                        with session.begin_nested():
                            write.result = write.work(session)
                            session.flush()
                    except Exception as e:  # noqa: BLE001 - handed to the caller, who raises it
                        write.error = e
        except BaseException as e:  # the commit failed: no write of the batch happened
            for write in batch:
                if write.error is None:
                    write.error, write.result = e, None


def _outcome(write: _Write):
    if write.error is not None:
        raise write.error
    return write.result


_batchers: dict[str, _WriteBatcher] = {}


def batched_write(engine: Engine, work: Callable[[Session], T]) -> T:
    """`work(session)` inside a write transaction, with its changes committed when this returns.

    On SQLite the writes queued by this process's threads at the same time share one transaction
    (`_WriteBatcher`); `work` must then leave the session usable when it raises (let the error
    propagate rather than catching database errors). On PostgreSQL, where writers do not queue for
    one lock, each write is its own transaction."""
    if engine.dialect.name != "sqlite":
        with transaction(engine, immediate=True) as session:
            return work(session)
    key = str(engine.url.database or "")
    with _write_locks_guard:
        batcher = _batchers.setdefault(key, _WriteBatcher())
    return batcher.run(engine, work)
