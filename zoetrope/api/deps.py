"""What a route needs: the shared services of the app, and the authenticated principal."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine, select

from zoetrope.access.keys import Principal, authenticate
from zoetrope.access.models import Account, ApiKey, utcnow
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
# another server, an operator's UPDATE), and drops their entries at once; on SQLite an entry is checked again after
# SQLITE_RECHECK_SECONDS. What spends is checked again under the account's
# lock, and the admin API checks the caller's admin right afresh (`zoetrope.api.routes.access`).
# A key that expires is not served from here past its expiry.
PRINCIPAL_TTL_SECONDS = 10.0
# On SQLite (no notifications) a cached key older than this is checked again, with one read and no
# write, so a key revoked or an account disabled by another process stops working within it.
SQLITE_RECHECK_SECONDS = 1.0


@dataclass
class Services:
    engine: Engine
    registry: Registry
    blobs: BlobStore
    policy: DispatchPolicy


class _PrincipalCache:
    """Principals by token digest: (expires, principal), on the monotonic clock; on SQLite also when
    each is next checked again (`SQLITE_RECHECK_SECONDS`)."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, Principal]] = {}
        self._recheck_at: dict[str, float] = {}
        self._lock = threading.Lock()

    def cached(self, token: str) -> Principal | None:
        hit = self._entries.get(_digest(token))
        return hit[1] if hit is not None and hit[0] > time.monotonic() else None

    def get(self, engine: Engine, token: str) -> Principal:
        """The principal of `token`, from the cache or (a miss) from the keys table."""
        principal = self.cached(token)
        if principal is not None:
            return principal
        with transaction(engine, immediate=True) as s:
            principal = authenticate(s, token)
        ttl = PRINCIPAL_TTL_SECONDS
        if principal.key_expires_at is not None:  # a key that expires sooner is not served past it
            ttl = min(ttl, (principal.key_expires_at - utcnow()).total_seconds())
        now, digest = time.monotonic(), _digest(token)
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
                self._recheck_at.clear()
            self._entries[digest] = (now + ttl, principal)
            if engine.dialect.name != "postgresql":  # which hears revocations instead
                self._recheck_at[digest] = now + SQLITE_RECHECK_SECONDS
        return principal

    def _drop(self, match) -> None:
        with self._lock:
            for digest in [d for d, (_, p) in self._entries.items() if match(p)]:
                del self._entries[digest]
                self._recheck_at.pop(digest, None)

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
            self._recheck_at.clear()

    def _still_valid(self, engine: Engine, digest: str, principal: Principal) -> bool:
        """Whether a cached key is still neither revoked nor of a disabled account: one read, no write
        (a miss writes last_used_at under SQLite's one write lock); forgotten when it is not."""
        with transaction(engine) as s:
            row = s.execute(
                select(ApiKey.revoked_at, Account.disabled_at)
                .join(Account, Account.id == ApiKey.account_id)
                .where(ApiKey.id == principal.key_id)
            ).first()
        if row is None or row.revoked_at is not None or row.disabled_at is not None:
            self.forget_key(principal.key_id)
            return False
        with self._lock:
            if digest in self._recheck_at:
                self._recheck_at[digest] = time.monotonic() + SQLITE_RECHECK_SECONDS
        return True

    async def resolve(self, engine: Engine, token: str) -> Principal:
        """`get` for the event loop: a hit is a dict lookup (on SQLite, a read of the key's row at most
        once a second); a miss writes the key's last_used_at, which may wait for the database's write
        lock, so it runs in the threadpool."""
        digest = _digest(token)
        hit = self._entries.get(digest)
        now = time.monotonic()
        if hit is not None and hit[0] > now:
            if self._recheck_at.get(digest, now) >= now or hit[1].key_id is None:
                return hit[1]
            if await run_in_threadpool(self._still_valid, engine, digest, hit[1]):
                return hit[1]
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
    (PostgreSQL); elsewhere (SQLite) a no-op, and the cache's TTL bounds what is served."""
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
