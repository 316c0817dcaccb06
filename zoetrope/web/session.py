"""Studio sign-in: argon2 password hashes, a signed session cookie, CSRF tokens, and the
principal a signed-in browser calls the `/v1` API as."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select

from zoetrope.access.keys import Principal, authenticate, principal_for
from zoetrope.access.models import Account, ApiKey
from zoetrope.db import transaction
from zoetrope.errors import AuthenticationFailed, PermissionDenied
from zoetrope.settings import get_settings
from zoetrope.web.models import StudioUser

COOKIE = "zoetrope_session"
MAX_AGE = 14 * 24 * 3600
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
_hasher = PasswordHasher()


@dataclass(frozen=True)
class Session:
    """Who a browser is signed in as: the account, the key it signed in with (if any), its CSRF token."""

    account_id: str
    key_id: str | None
    csrf: str
    email: str | None = None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@lru_cache(maxsize=4)
def _secret(data_dir: Path) -> str:
    """The cookie-signing secret: ZOETROPE_STUDIO_SECRET, or one kept in the data dir across restarts."""
    if env := os.environ.get("ZOETROPE_STUDIO_SECRET"):
        return env
    path = data_dir / "studio-secret"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(_secret(get_settings().data_dir), salt="zoetrope-studio")


def read_session(request: Request) -> Session | None:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        data = _serializer().loads(raw, max_age=MAX_AGE)
    except BadSignature:
        return None
    return Session(data["a"], data.get("k"), data["c"], data.get("e"))


def start_session(response: Response, account_id: str, key_id: str | None, email: str | None) -> None:
    data = {"a": account_id, "k": key_id, "c": secrets.token_urlsafe(24), "e": email}
    response.set_cookie(
        COOKIE, _serializer().dumps(data), max_age=MAX_AGE, httponly=True, samesite="lax", path="/"
    )


def end_session(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/")


def check_csrf(request: Request, session: Session, token: str | None) -> None:
    if not token or not secrets.compare_digest(token, session.csrf):
        raise PermissionDenied(
            "the form's CSRF token is missing or stale; reload the page", code="csrf_failed"
        )


def sign_in_password(engine, email: str, password: str) -> StudioUser:
    """The studio user with this email and password; AuthenticationFailed otherwise (same words either way)."""
    with transaction(engine) as s:
        user = s.scalar(select(StudioUser).where(StudioUser.email == email.strip().lower()))
        if user is None or not password_matches(user.password_hash, password):
            raise AuthenticationFailed("wrong email or password")
        s.expunge(user)
        return user


def sign_in_key(engine, token: str) -> Principal:
    with transaction(engine, immediate=True) as s:
        return authenticate(s, token)


def session_principal(engine, session: Session) -> Principal:
    """The principal of a signed-in browser; a revoked key or disabled account ends the session."""
    with transaction(engine) as s:
        account = s.get(Account, session.account_id)
        if account is None or account.disabled_at is not None:
            raise AuthenticationFailed("your session has ended: sign in again")
        key = s.get(ApiKey, session.key_id) if session.key_id else None
        if session.key_id and (key is None or key.revoked_at is not None):
            raise AuthenticationFailed("the API key this session signed in with was revoked: sign in again")
        return principal_for(account, key)


async def principal(request: Request) -> Principal | None:
    """The principal of the studio's session cookie, for a request without `Authorization`
    (`api.deps.principal` asks this first), checking the `X-CSRF-Token` header on every request
    that changes something; None when there is no session."""
    session = read_session(request)
    if session is None:
        return None
    if request.method not in SAFE_METHODS:
        check_csrf(request, session, request.headers.get("x-csrf-token"))
    return session_principal(request.app.state.services.engine, session)
