"""What a route needs: the shared services of the app, and the authenticated principal."""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass

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

# A principal is cached this long per token, so a poll loop does not hit the keys table (and
# its last_used_at write) on every request. A key revoked from another process (the CLI, another
# server) stops working for reads within this time; what spends is checked again under the account's
# lock, and the admin API checks the caller's admin right afresh (`zoetrope.api.routes.access`).
# A key that expires is not served from here past its expiry.
PRINCIPAL_TTL_SECONDS = 10.0


@dataclass
class Services:
    engine: Engine
    registry: Registry
    blobs: BlobStore
    policy: DispatchPolicy


class _PrincipalCache:
    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, Principal]] = {}
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
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[_digest(token)] = (time.monotonic() + ttl, principal)
        return principal

    def forget_key(self, key_id: str) -> None:
        """Drop the cached principal of key `key_id` (revoked): its next request is refused at once
        by this process, not once the entry expires."""
        with self._lock:
            for digest in [d for d, (_, p) in self._entries.items() if p.key_id == key_id]:
                del self._entries[digest]

    async def resolve(self, engine: Engine, token: str) -> Principal:
        """`get` for the event loop: a hit is a dict lookup; a miss writes the key's last_used_at,
        which may wait for the database's write lock, so it runs in the threadpool."""
        return self.cached(token) or await run_in_threadpool(self.get, engine, token)


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
