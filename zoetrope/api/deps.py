"""What a route needs: the shared services of the app, and the authenticated principal."""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine

from zoetrope.access.keys import Principal, authenticate
from zoetrope.access.models import utcnow
from zoetrope.backends.registry import Registry
from zoetrope.db import transaction
from zoetrope.errors import AuthenticationFailed
from zoetrope.jobs.dispatch import DispatchPolicy
from zoetrope.storage import BlobStore

log = logging.getLogger(__name__)

# A principal is cached this long per token, so a poll loop does not hit the keys table (and
# its last_used_at write) on every request. On PostgreSQL each process also listens for keys being
# revoked and accounts disabled, and for changes to their rights (a key's allowed models or quota;
# an account's plan, seats, quota or admin right) (`RevocationListener`), from any process (the CLI,
# another server, an operator's UPDATE), and drops their entries at once. On SQLite (no notifications)
# each process asks the file, on each request, whether anything was committed since the entry was read
# (`SqliteChanges`), and when something was, reads the key's rights again before serving it: the same
# changes apply on the very next request there too. What spends is checked again under the account's
# lock, and the admin API checks the caller's admin right afresh (`zoetrope.api.routes.access`).
# A key that expires is not served from here past its expiry.
PRINCIPAL_TTL_SECONDS = 10.0

# Everything a cached principal was made of (`keys.principal_for`), with what refuses a key (revoked,
# expired, its account disabled), as stored: one row read by the key's unique hash, and never written.
_RIGHTS = (
    "SELECT k.id, k.revoked_at, k.expires_at, k.allowed_models, k.quota, a.plan, a.seats, a.country, "
    "a.birth_date, a.is_admin, a.quota, a.disabled_at "
    "FROM api_keys k JOIN accounts a ON a.id = k.account_id WHERE k.hashed_secret = ?"
)


class SqliteChanges:
    """A read-only connection of a process's own to an SQLite file. `PRAGMA data_version` on it moves
    whenever another connection commits (another process, or this one's pool): a few microseconds
    that say whether a cached principal can still be served, without a thread hop or the pool. It
    never waits for a lock (a busy file is an error, and the caller authenticates as on a miss)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._conn = sqlite3.connect(f"file:{quote(path)}?mode=rw", uri=True, timeout=0, isolation_level=None,
                                     check_same_thread=False)  # fmt: skip
        self._conn.execute("PRAGMA query_only=1")
        self._lock = threading.Lock()

    @classmethod
    def of(cls, engine: Engine) -> SqliteChanges | None:
        """For `engine`'s SQLite file; None for another database, or an SQLite one in memory."""
        database = engine.url.database or ""
        if engine.dialect.name != "sqlite" or database in ("", ":memory:") or database.startswith("file:"):
            return None
        return cls(str(Path(database).resolve()))

    def version(self) -> int:
        with self._lock:
            return self._conn.execute("PRAGMA data_version").fetchone()[0]

    def rights(self, digest: str) -> tuple[int, tuple | None]:
        """(the version, then the rights row of the key whose hash is `digest`, None if there is none):
        the version read first, so a commit between the two makes the row look older, never newer."""
        with self._lock:
            version = self._conn.execute("PRAGMA data_version").fetchone()[0]
            rows = self._conn.execute(_RIGHTS, (digest,)).fetchall()  # to the end: no read left open
            return version, rows[0] if rows else None

    def close(self) -> None:
        with self._lock:
            self._conn.close()


@dataclass
class Services:
    engine: Engine
    registry: Registry
    blobs: BlobStore
    policy: DispatchPolicy


class _PrincipalCache:
    """Principals by token digest: (expires, principal), on the monotonic clock; on SQLite also the
    file's version and the key's rights row when each was read (`SqliteChanges`)."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, Principal]] = {}
        self._seen: dict[str, tuple[int, tuple]] = {}
        self._changes: tuple[Engine, SqliteChanges | None] | None = None  # for the engine last asked
        self._lock = threading.Lock()

    def _sqlite(self, engine: Engine) -> SqliteChanges | None:
        """`engine`'s `SqliteChanges`, opened on its first use; None on PostgreSQL (which hears changes)."""
        watched = self._changes
        if watched is not None and watched[0] is engine:
            return watched[1]
        if engine.dialect.name != "sqlite":
            return None
        with self._lock:
            if self._changes is None or self._changes[0] is not engine:
                try:
                    opened = SqliteChanges.of(engine)
                except sqlite3.Error:  # no file yet, or none to read: not cached, and tried again next time
                    return None
                if self._changes is not None and self._changes[1] is not None:
                    self._changes[1].close()
                self._changes, self._seen = (engine, opened), {}
            return self._changes[1]

    def _hit(self, engine: Engine, digest: str) -> Principal | None:
        """The cached principal of `digest`, unless it expired or (SQLite) its rights changed since it
        was read, when it is forgotten; None then, or when the file cannot say."""
        hit = self._entries.get(digest)
        if hit is None or hit[0] <= time.monotonic():
            return None
        if hit[1].key_id is None or engine.dialect.name != "sqlite":
            return hit[1]
        seen, changes = self._seen.get(digest), self._sqlite(engine)
        if seen is None or changes is None:
            return None
        try:
            if changes.version() == seen[0]:  # nothing committed since it was read
                return hit[1]
            version, row = changes.rights(digest)
        except sqlite3.Error:  # busy (a recovery, a restart of the log): authenticate as on a miss
            return None
        if row != seen[1]:  # changed: authenticated afresh (or refused) by the caller
            with self._lock:
                self._entries.pop(digest, None)
                self._seen.pop(digest, None)
            return None
        with self._lock:
            if digest in self._seen:
                self._seen[digest] = (version, row)
        return hit[1]

    def get(self, engine: Engine, token: str) -> Principal:
        """The principal of `token`, from the cache or (a miss) from the keys table."""
        digest = _digest(token)
        principal = self._hit(engine, digest)
        if principal is not None:
            return principal
        seen, changes = None, self._sqlite(engine)
        if changes is not None:
            with suppress(sqlite3.Error):  # else not cached: the next request authenticates again
                seen = changes.rights(digest)  # before the principal is read, so never newer than it
        with transaction(engine, immediate=True) as s:
            principal = authenticate(s, token)
        if engine.dialect.name == "sqlite" and (seen is None or seen[1] is None):
            return principal
        ttl = PRINCIPAL_TTL_SECONDS
        if principal.key_expires_at is not None:  # a key that expires sooner is not served past it
            ttl = min(ttl, (principal.key_expires_at - utcnow()).total_seconds())
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
                self._seen.clear()
            self._entries[digest] = (time.monotonic() + ttl, principal)
            if seen is not None:
                self._seen[digest] = seen
        return principal

    def _drop(self, match) -> None:
        with self._lock:
            for digest in [d for d, (_, p) in self._entries.items() if match(p)]:
                del self._entries[digest]
                self._seen.pop(digest, None)

    def forget_key(self, key_id: str) -> None:
        """Drop the cached principal of key `key_id` (revoked): its next request is refused at once
        by this process, not once the entry expires."""
        self._drop(lambda p: p.key_id == key_id)

    def forget_account(self, account_id: str) -> None:
        """Drop the cached principals of every key of account `account_id` (disabled)."""
        self._drop(lambda p: p.account_id == account_id)

    def forget_all(self) -> None:
        with self._lock:
            self._entries.clear()
            self._seen.clear()

    async def resolve(self, engine: Engine, token: str) -> Principal:
        """`get` for the event loop: a hit is a dict lookup (on SQLite, with a read of the file's
        version, and of the key's rights row when something was committed since); a miss writes the
        key's last_used_at, which may wait for the database's write lock, so it runs in the threadpool."""
        principal = self._hit(engine, _digest(token))
        if principal is not None:
            return principal
        return await run_in_threadpool(self.get, engine, token)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def services(request: Request) -> Services:
    # async: FastAPI runs a plain `def` dependency in the threadpool, a hop on every request.
    return request.app.state.services


async def principal(request: Request) -> Principal:
    """The caller, from `Authorization: Bearer zk-...`; 401 in OpenAI's shape otherwise.

    Where the studio is mounted, a request without the header may instead carry a signed-in
    browser's session (`app.state.session_principal`, which returns None when there is none).
    A hook rather than a FastAPI dependency override: with any override registered, FastAPI
    rebuilds every dependency's signature on every request of every route.
    """
    header = request.headers.get("authorization")
    if not header:
        session_principal = getattr(request.app.state, "session_principal", None)
        who = await session_principal(request) if session_principal is not None else None
        if who is not None:
            return who
        raise AuthenticationFailed("missing API key: send 'Authorization: Bearer zk-...'")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed("malformed Authorization header: use 'Bearer zk-...'")
    return await request.app.state.principals.resolve(request.app.state.services.engine, token.strip())


def new_principal_cache() -> _PrincipalCache:
    return _PrincipalCache()


# PostgreSQL: a row trigger (migrations 0009, 0010) announces each key revoked (or deleted) and each
# account disabled (or deleted) on this channel, and each change to a key's allowed models or quota
# or an account's plan, seats, quota or admin right, whichever process or statement did it, once it
# commits; other updates (a key's last_used_at) say nothing.
REVOKED_CHANNEL = "zoetrope_access_revoked"
STARTUP_LISTEN_SECONDS = 5.0


class RevocationListener:
    """A thread that LISTENs on PostgreSQL for keys revoked and accounts disabled and drops them from
    a principal cache, so a revoked key's very next request is refused in every process, not once
    its cached entry expires. After a dropped connection it reconnects (backing off up to
    `max_backoff` seconds) and empties the cache, which may hold keys revoked meanwhile; until it is
    back, the cache's TTL still bounds what is served."""

    def __init__(self, engine: Engine, cache: _PrincipalCache, *, max_backoff: float = 5.0) -> None:
        self.engine, self.cache, self.max_backoff = engine, cache, max_backoff
        self.listening = threading.Event()  # set while LISTENing (tests wait on it)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="zoetrope-revocations", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        backoff = 0.25
        while not self._stop.is_set():
            try:
                self._listen()
                backoff = 0.25
            except Exception as exc:  # the database away or restarting: keep trying
                if self._stop.is_set():
                    break
                log.warning("revoked-key listener: %s; reconnecting in %.1f s", str(exc).strip(), backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, self.max_backoff)
            finally:
                self.listening.clear()

    def _listen(self) -> None:
        # A connection of the engine's (its connect args and hooks), taken out of the pool for good.
        pooled = self.engine.raw_connection()
        try:
            pooled.detach()
            conn = pooled.dbapi_connection
            conn.rollback()
            conn.autocommit = True
            conn.execute(f"LISTEN {REVOKED_CHANNEL}")
            self.cache.forget_all()  # anything revoked while nobody listened is looked up afresh
            self.listening.set()
            while not self._stop.is_set():
                for note in conn.notifies(timeout=0.5):
                    self._apply(note.payload)
        finally:
            with suppress(Exception):
                pooled.close()

    def _apply(self, payload: str) -> None:
        kind, _, ident = payload.partition(":")
        if kind == "key":
            self.cache.forget_key(ident)
        elif kind == "account":
            self.cache.forget_account(ident)
        else:
            self.cache.forget_all()


@contextmanager
def revocations_heard(engine: Engine, cache: _PrincipalCache) -> Iterator[RevocationListener | None]:
    """While inside, `cache` forgets keys revoked and accounts disabled by any process, at once
    (PostgreSQL); elsewhere (SQLite) a no-op: there the cache asks the file (`SqliteChanges`)."""
    if engine.dialect.name != "postgresql":
        yield None
        return
    listener = RevocationListener(engine, cache)
    listener.start()
    listener.listening.wait(STARTUP_LISTEN_SECONDS)  # served from the first request, when the database is up
    try:
        yield listener
    finally:
        listener.stop()
