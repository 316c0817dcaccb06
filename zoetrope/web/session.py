"""Studio sign-in: argon2 password hashes, a signed session cookie, CSRF tokens, and the
principal a signed-in browser calls the `/v1` API as."""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import SplitResult, urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select, update

from zoetrope.access.keys import Principal, authenticate, principal_for
from zoetrope.access.models import Account, ApiKey, utcnow
from zoetrope.db import transaction
from zoetrope.errors import AuthenticationFailed, PermissionDenied
from zoetrope.settings import get_settings
from zoetrope.web.models import StudioSession, StudioUser

COOKIE = "zoetrope_session"
TAG_COOKIE = "zoetrope_session_tag"  # which session the browser holds, readable by the pages (session_tag)
MAX_AGE = 14 * 24 * 3600
NEW_KEY_COOKIE = "zoetrope_new_key"
NEW_KEY_MAX_AGE = 120
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
_hasher = PasswordHasher()


@dataclass(frozen=True)
class Session:
    """Who a browser is signed in as: the account, the key it signed in with (if any), its CSRF token."""

    account_id: str
    key_id: str | None
    csrf: str
    email: str | None = None
    id: str | None = None  # the StudioSession row; a cookie without one (or an ended one) is signed out


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
    return Session(data["a"], data.get("k"), data["c"], data.get("e"), data.get("s"))


def start_session(response: Response, engine, account_id: str, key_id: str | None, email: str | None) -> None:
    with transaction(engine, immediate=True) as s:
        row = StudioSession(account_id=account_id)
        s.add(row)
        s.flush()
        session_id = row.id
    _write_cookie(response, Session(account_id, key_id, secrets.token_urlsafe(24), email, session_id))


def reissue_cookie(response: Response, session: Session, email: str | None) -> None:
    """The same session's cookie with a new email in it (the header shows it)."""
    _write_cookie(response, Session(session.account_id, session.key_id, session.csrf, email, session.id))


def _write_cookie(response: Response, session: Session) -> None:
    data = {
        "a": session.account_id,
        "k": session.key_id,
        "c": session.csrf,
        "e": session.email,
        "s": session.id,
    }
    response.set_cookie(
        COOKIE, _serializer().dumps(data), max_age=MAX_AGE, httponly=True, samesite="lax", path="/"
    )
    response.set_cookie(TAG_COOKIE, session_tag(session), max_age=MAX_AGE, samesite="lax", path="/")


def session_tag(session: Session) -> str:
    """A name for the session that tells it from the browser's next one, and nothing more (a hash of
    its CSRF token): a page compares the one it was made with to the cookie's, which all of the
    browser's tabs share, to know whether its token is still the session's before it sends a form."""
    return hashlib.sha256(session.csrf.encode()).hexdigest()[:16]


def signed_message(text: str) -> str:
    """`text` for a redirect's `?error=`, signed: a page shows only messages this server wrote, so a
    crafted link cannot put its own words in the studio's alert."""
    return _serializer().dumps(text[:500], salt="zoetrope-message")


def read_message(request: Request) -> str | None:
    """The `?error=` that `signed_message` made in the last 10 minutes; None for anything else."""
    raw = request.query_params.get("error")
    if not raw:
        return None
    try:
        return _serializer().loads(raw, salt="zoetrope-message", max_age=600)
    except BadSignature:
        return None


def hand_over_key(response: Response, session: Session, token: str) -> None:
    """A key just created rides the redirect to the account page in a signed cookie of its own, bound to
    this sign-in and read once: reloading that page neither shows the key again nor makes another."""
    data = _serializer().dumps({"s": session.id, "t": token}, salt="zoetrope-new-key")
    response.set_cookie(
        NEW_KEY_COOKIE, data, max_age=NEW_KEY_MAX_AGE, httponly=True, samesite="strict", path="/account"
    )


def take_new_key(request: Request, session: Session) -> str | None:
    """The key `hand_over_key` left for this sign-in, if any (the caller deletes the cookie)."""
    raw = request.cookies.get(NEW_KEY_COOKIE)
    if not raw:
        return None
    try:
        data = _serializer().loads(raw, salt="zoetrope-new-key", max_age=NEW_KEY_MAX_AGE)
    except BadSignature:
        return None
    return data["t"] if data.get("s") == session.id else None


def limited_key(principal: Principal) -> bool:
    """Whether the principal signed in with a key narrower than its account (a quota or a model
    list): such a session may not mint keys or set the account's password, which would lift them."""
    return principal.key_id is not None and bool(principal.key_quota or principal.allowed_models)


def end_session(response: Response, engine, session: Session | None) -> None:
    """Sign the browser out: the session ends on the server (a copied cookie stops working) and
    the cookie is cleared."""
    if session is not None and session.id:
        with transaction(engine, immediate=True) as s:
            s.execute(
                update(StudioSession)
                .where(StudioSession.id == session.id, StudioSession.ended_at.is_(None))
                .values(ended_at=utcnow())
            )
    response.delete_cookie(COOKIE, path="/")
    response.delete_cookie(TAG_COOKIE, path="/")


def end_other_sessions(s, account_id: str, keep: str | None) -> None:
    """End every session of the account but `keep` (after its password changed)."""
    s.execute(
        update(StudioSession)
        .where(
            StudioSession.account_id == account_id,
            StudioSession.id != (keep or ""),
            StudioSession.ended_at.is_(None),
        )
        .values(ended_at=utcnow())
    )


def _host(netloc: str, scheme: str = "") -> str:
    """`host[:port]` in lower case, without the scheme's default port."""
    netloc = netloc.strip().lower()
    for default in {"http": (":80",), "https": (":443",)}.get(scheme, (":80", ":443")):
        netloc = netloc.removesuffix(default)
    return netloc


def same_host(url: str, request: Request) -> bool:
    """Whether `url` (an Origin or a Referer) names the host this request was sent to: its `Host`
    header, or `X-Forwarded-Host` behind a proxy. The scheme is not compared: behind a proxy that ends
    TLS the server sees http where the browser sent https (a page's own form cannot set these headers).
    Or whether it is on the server's public address (ZOETROPE_PUBLIC_URL), scheme and all: behind a
    proxy that rewrites `Host` and sets no `X-Forwarded-Host`, no header says where the browser was."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    public = get_settings().public_url
    if public and _origin(urlsplit(public)) == _origin(parts):
        return True
    sent_to = [request.headers.get("host", "")]
    sent_to += request.headers.get("x-forwarded-host", "").split(",")
    origin = _host(parts.netloc, parts.scheme)
    return any(h.strip() and _host(h, parts.scheme) == origin for h in sent_to)


def _origin(parts: SplitResult) -> tuple[str, str]:
    return parts.scheme.lower(), _host(parts.netloc, parts.scheme.lower())


def from_another_site(request: Request) -> bool:
    """Whether a browser sent this request from a page of another site (or another origin of this
    one): `Sec-Fetch-Site` where the browser sends it, else an `Origin` that is not this host.
    A request with neither (curl, an old browser, a script) is not refused here."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site not in ("same-origin", "none")  # none: typed or bookmarked by the user
    origin = request.headers.get("origin")
    return origin is not None and not same_host(origin, request)


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
    """The principal of a signed-in browser; signing out, a new password, a revoked key or a
    disabled account ends the session."""
    with transaction(engine) as s:
        row = s.get(StudioSession, session.id) if session.id else None
        if row is None or row.ended_at is not None or row.account_id != session.account_id:
            raise AuthenticationFailed("your session has ended: sign in again")
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
