"""API keys: issue (the plaintext is shown once), authenticate, revoke."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from zoetrope.access.accounts import get_account
from zoetrope.access.models import ApiKey, utcnow
from zoetrope.access.usage import checked_quota, checked_text
from zoetrope.config import Plan, get_config
from zoetrope.errors import AuthenticationFailed, InvalidRequest, NotFound

TOKEN_PREFIX = "zk-"


@dataclass(frozen=True)
class Principal:
    """Who is calling: the account and key a request authenticated as, and the account's plan."""

    account_id: str
    key_id: str | None
    plan: Plan
    country: str = "US"
    birth_date: date = date(1990, 1, 1)
    is_admin: bool = False
    allowed_models: tuple[str, ...] | None = None
    key_quota: dict | None = field(default=None, compare=False)
    account_quota: dict | None = field(default=None, compare=False)
    key_expires_at: datetime | None = field(default=None, compare=False)  # when the key stops working


def hash_token(token: str) -> str:
    # Tokens are 32 random bytes, so a plain SHA-256 is enough (no slow KDF needed).
    return hashlib.sha256(token.encode()).hexdigest()


# The longest a key may be made to last; a key meant to last longer is made without an expiry.
MAX_EXPIRY_DAYS = 3650


def expiry_after(days: int | None, *, param: str = "expires_in", now: datetime | None = None) -> datetime | None:
    """When a key made now that lasts `days` days expires (None: `days` is None, it never does); a
    400 naming `param` unless it is a whole number of days from 1 to MAX_EXPIRY_DAYS."""
    if days is None:
        return None
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_EXPIRY_DAYS:
        raise InvalidRequest(
            f"{param} is the days the key lasts, a whole number from 1 to {MAX_EXPIRY_DAYS:,}, not {days!r}; "
            "leave it out for a key that does not expire",
            param=param,
        )
    return (now or utcnow()) + timedelta(days=days)


def aware(moment: datetime | None) -> datetime | None:
    """`moment` with its time zone (SQLite hands back naive UTC)."""
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=UTC)


def expired(expires_at: datetime | None, now: datetime | None = None) -> bool:
    return expires_at is not None and aware(expires_at) <= (now or utcnow())


def expired_message(label: str, expires_at: datetime, account_id: str) -> str:
    """Why a key that expired is refused, and how to get another."""
    return (
        f"API key {label} expired on {aware(expires_at):%Y-%m-%d %H:%M} UTC: use another key of the account, "
        f"or have an admin make a new one (`zoetrope keys create --account {account_id}`, or "
        f"POST /v1/admin/accounts/{account_id}/keys)"
    )


def checked_models(names: list[str] | None) -> list[str] | None:
    """A key's model list, each name one the config routes (a model or an alias); None means every model."""
    if names is None:
        return None
    config = get_config()
    known = sorted({n for m in config.models for n in (m.name, *m.aliases)})
    if not names:
        raise InvalidRequest("allowed_models is empty: list at least one model, or leave it out for all of them",
                             param="allowed_models")
    for name in names:
        if config.model_name(name) is None:
            raise InvalidRequest(f"unknown model {name!r} in allowed_models; this server has: {', '.join(known)}",
                                 param="allowed_models")
    return list(dict.fromkeys(names))


def create_key(
    session: Session,
    account_id: str,
    name: str = "default",
    *,
    quota: dict | None = None,
    allowed_models: list[str] | None = None,
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """A new key for the account and its plaintext `zk-...` token, which is never stored; with
    `expires_at` (see `expiry_after`), refused from then on."""
    name = checked_text(name, ApiKey.name, "name")
    if expired(expires_at):
        raise InvalidRequest("expires_at is in the past: give a moment to come", param="expires_at")
    account = get_account(session, account_id)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        account_id=account.id,
        name=name,
        hashed_secret=hash_token(token),
        prefix=token[:10],
        quota=checked_quota(quota),
        allowed_models=checked_models(allowed_models),
        expires_at=expires_at,
    )
    session.add(key)
    session.flush()
    return key, token


def authenticate(session: Session, token: str | None) -> Principal:
    """The principal behind a bearer token; AuthenticationFailed says why when there is none."""
    if not token:
        raise AuthenticationFailed("missing API key: send 'Authorization: Bearer zk-...'")
    token = token.strip()
    if token.lower().startswith("bearer "):
        token = token[7:].strip()
    if not token.startswith(TOKEN_PREFIX):
        raise AuthenticationFailed("malformed API key: Zoetrope keys start with 'zk-'")
    key = session.scalar(select(ApiKey).where(ApiKey.hashed_secret == hash_token(token)))
    if key is None:
        raise AuthenticationFailed(f"invalid API key {token[:10]}...: no such key")
    if key.revoked_at is not None:
        raise AuthenticationFailed(f"API key {key.prefix}... ({key.name}) was revoked")
    if expired(key.expires_at):
        raise AuthenticationFailed(
            expired_message(f"{key.prefix}... ({key.name})", key.expires_at, key.account_id),
            code="expired_api_key",
        )
    account = key.account
    if account.disabled_at is not None:
        raise AuthenticationFailed(f"account {account.id} is disabled")
    key.last_used_at = utcnow()
    session.flush()
    return principal_for(account, key)


def principal_for(account, key: ApiKey | None = None) -> Principal:
    """The principal of an account (and optionally one of its keys), with the plan from the config."""
    return Principal(
        account_id=account.id,
        key_id=key.id if key else None,
        plan=get_config().plan(account.plan),
        country=account.country,
        birth_date=account.birth_date,
        is_admin=bool(account.is_admin),
        allowed_models=tuple(key.allowed_models) if key and key.allowed_models else None,
        key_quota=key.quota if key else None,
        account_quota=account.quota,
        key_expires_at=aware(key.expires_at) if key else None,
    )


def revoke_key(session: Session, key_id: str, *, account_id: str | None = None) -> ApiKey:
    """Revoke a key (idempotent); with `account_id`, only a key of that account is found."""
    stmt = select(ApiKey).where(ApiKey.id == key_id)
    if account_id is not None:
        stmt = stmt.where(ApiKey.account_id == account_id)
    key = session.scalar(stmt)
    if key is None:
        raise NotFound(f"no API key {key_id!r}", param="key")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.flush()
    return key


def list_keys(session: Session, account_id: str | None = None) -> list[ApiKey]:
    stmt = select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)
    if account_id is not None:
        stmt = stmt.where(ApiKey.account_id == account_id)
    return list(session.scalars(stmt))
