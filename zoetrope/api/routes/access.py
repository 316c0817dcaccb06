"""`/v1/usage` for the caller, and the admin API: accounts, keys, plans, usage, monthly invoices."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from zoetrope.access import accounts, keys, ledger
from zoetrope.access.keys import Principal
from zoetrope.access.models import Account, ApiKey, LedgerEntry
from zoetrope.access.usage import (
    GROUPS,
    checked_month,
    checked_text,
    invoice_csv,
    max_chars,
    month_bounds,
    usage,
)
from zoetrope.api.bodies import refusal
from zoetrope.api.deps import Services, principal, services
from zoetrope.api.numbers import PlainInt
from zoetrope.config import get_config
from zoetrope.db import transaction
from zoetrope.errors import AuthenticationFailed, InvalidRequest, PermissionDenied, shown

router = APIRouter(tags=["usage"])
admin = APIRouter(prefix="/v1/admin", tags=["admin"])


def admin_principal(p: Principal = Depends(principal), svc: Services = Depends(services)) -> Principal:
    """The caller, if its account is an admin now: read afresh from the database on every admin call
    (two rows by key), not from the few seconds' cache of who a token is, so an account demoted or
    disabled, or a key revoked or expired, from the CLI or another process, loses the admin API at once."""
    with transaction(svc.engine) as s:
        account = s.execute(
            select(Account.is_admin, Account.disabled_at).where(Account.id == p.account_id)
        ).one_or_none()
        key = (
            s.execute(select(ApiKey.prefix, ApiKey.name, ApiKey.revoked_at, ApiKey.expires_at)
                      .where(ApiKey.id == p.key_id)).one_or_none()  # fmt: skip
            if p.key_id is not None
            else None
        )
    if account is None or account.disabled_at is not None:
        raise AuthenticationFailed(f"account {p.account_id} is disabled")
    if p.key_id is not None and (key is None or key.revoked_at is not None):
        raise AuthenticationFailed(f"API key {p.key_id} was revoked; use another key of the account")
    if key is not None and keys.expired(key.expires_at):
        raise AuthenticationFailed(
            keys.expired_message(f"{key.prefix}... ({key.name})", key.expires_at, p.account_id),
            code="expired_api_key",
        )
    if not account.is_admin:
        raise PermissionDenied("the admin API needs a key of an admin account", code="admin_only")
    return p


def _month(month: str | None) -> str:
    return checked_month(month)


def _group(group_by: str | None) -> str | None:
    if group_by is not None and group_by not in GROUPS:
        raise InvalidRequest(f"group_by must be one of {', '.join(GROUPS)}", param="group_by")
    return group_by


def _account(a: Account, s) -> dict:
    return {
        "id": a.id,
        "object": "account",
        "name": a.name,
        "plan": a.plan,
        "country": a.country,
        "birth_date": a.birth_date.isoformat(),
        "seats": a.seats,
        "is_admin": a.is_admin,
        "quota": a.quota,
        "created_at": a.created_at.isoformat(),
        "credits": ledger.balance(s, a.id),
        "points": ledger.balance(s, a.id, "points"),
    }


def _key(k: ApiKey) -> dict:
    return {
        "id": k.id,
        "object": "api_key",
        "account_id": k.account_id,
        "name": k.name,
        "prefix": k.prefix,
        "created_at": k.created_at.isoformat(),
        "last_used_at": k.last_used_at.isoformat() if k.last_used_at else None,
        "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None,
        "expires_at": keys.aware(k.expires_at).isoformat() if k.expires_at else None,
        "quota": k.quota,
        "allowed_models": k.allowed_models,
    }


@router.get("/v1/usage")
def my_usage(
    month: str | None = None,
    group_by: str | None = Query(None, description="day or model"),
    p: Principal = Depends(principal),
    svc: Services = Depends(services),
) -> dict:
    """The caller's account: plan, balance, and this month's usage (total, and per key and group)."""
    since, until = month_bounds(_month(month))
    if group_by not in (None, "day", "model", "key"):
        raise InvalidRequest("group_by must be day, model or key", param="group_by")

    def read(s: Session) -> tuple[list[Account], dict]:
        total = usage(s, account_id=p.account_id, since=since, until=until)[0]
        this_key = usage(s, account_id=p.account_id, key_id=p.key_id, since=since, until=until)[0]
        groups = (
            usage(s, account_id=p.account_id, since=since, until=until, group_by=group_by) if group_by else []
        )
        account = s.get(Account, p.account_id)
        return [account] if account is not None else [], {
            "object": "usage",
            "account_id": p.account_id,
            "plan": account.plan if account is not None else p.plan.name,  # now, not when the key was cached
            "month": _month(month),
            "credits": ledger.balance(s, p.account_id),
            "points": ledger.balance(s, p.account_id, "points"),
            "total": total.to_dict(),
            "key": {"id": p.key_id, **this_key.to_dict()},
            "data": [g.to_dict() for g in groups],
        }

    return accounts.read_in_open_months(svc.engine, read)


# Bounds that keep every number inside a 64-bit database integer, far beyond any real account (the
# access layer refuses what its columns cannot hold within them: `ledger.MAX_AMOUNT` a grant).
MAX_SEATS = accounts.MAX_SEATS
MAX_GRANT = 10**15


class _Body(BaseModel):
    """An admin body: a field it does not take (a typo, `plna`, or one it cannot change) is a 400
    naming it and the fields it takes, not a 200 that silently changed nothing."""

    # Kept, to be named in the refusal; the schema says what is taken.
    model_config = ConfigDict(extra="allow", json_schema_extra={"additionalProperties": False})

    def checked(self):
        for name in self.model_extra or {}:
            raise InvalidRequest(
                f"unknown field {shown(name)}; this takes {', '.join(type(self).model_fields)}", param=name
            )
        return self


# Free text is at most what its column stores (a 400 naming the field, before anything is written); the
# functions the CLI shares check the same (`checked_text`), NUL characters and lone surrogates too.
class AccountIn(_Body):
    name: str = Field(min_length=1, max_length=max_chars(Account.name))
    plan: str = "plus"
    country: str = "US"
    birth_date: date = date(1990, 1, 1)
    seats: PlainInt = Field(1, ge=1, le=MAX_SEATS)
    is_admin: bool = False
    quota: dict | None = None


class AccountPatch(_Body):
    plan: str | None = None
    country: str | None = None
    birth_date: date | None = None
    seats: PlainInt | None = Field(None, ge=1, le=MAX_SEATS)
    quota: dict | None = None


class KeyIn(_Body):
    name: str = Field("default", max_length=max_chars(ApiKey.name))
    quota: dict | None = None
    allowed_models: list[str] | None = None
    # Days the key lasts from now; left out, it lasts until revoked.
    expires_in: PlainInt | None = Field(None, ge=1, le=keys.MAX_EXPIRY_DAYS)


class CreditsIn(_Body):
    amount: PlainInt = Field(ge=-MAX_GRANT, le=MAX_GRANT)  # negative: a correction taken back
    currency: str = Field("credits", pattern="^(credits|points)$")
    note: str = Field("", max_length=max_chars(LedgerEntry.note))


@admin.get("/plans")
def list_plans(_: Principal = Depends(admin_principal)) -> dict:
    return {"object": "list", "data": [p.model_dump(mode="json") for p in get_config().plans.values()]}


@admin.get("/accounts")
def list_accounts(_: Principal = Depends(admin_principal), svc: Services = Depends(services)) -> dict:
    def read(s: Session) -> tuple[list[Account], dict]:
        listed = accounts.list_accounts(s)
        return listed, {"object": "list", "data": [_account(a, s) for a in listed]}

    return accounts.read_in_open_months(svc.engine, read)


@admin.post("/accounts", responses={409: refusal("An account of that name exists")})
def create_account(
    body: AccountIn, _: Principal = Depends(admin_principal), svc: Services = Depends(services)
) -> dict:
    checked_text(body.checked().name, Account.name, "name")
    # A write takes SQLite's lock at BEGIN: a read that turns into a write loses to a worker's commit.
    with transaction(svc.engine, immediate=True) as s:
        a = accounts.open_account(
            s,
            body.name,
            body.plan,
            body.country,
            body.birth_date,
            seats=body.seats,
            is_admin=body.is_admin,
            quota=body.quota,
        )
        return _account(a, s)


@admin.get("/accounts/{account_id}")
def get_account(
    account_id: str, _: Principal = Depends(admin_principal), svc: Services = Depends(services)
) -> dict:
    def read(s: Session) -> tuple[list[Account], dict]:
        a = accounts.get_account(s, account_id)
        return [a], _account(a, s)

    return accounts.read_in_open_months(svc.engine, read)


@admin.patch("/accounts/{account_id}")
def update_account(
    account_id: str,
    body: AccountPatch,
    _: Principal = Depends(admin_principal),
    svc: Services = Depends(services),
) -> dict:
    with transaction(svc.engine, immediate=True) as s:
        a = accounts.update_account(s, account_id, **body.checked().model_dump())
        return _account(accounts.open_month(s, a.id), s)


@admin.post("/accounts/{account_id}/credits")
def grant_credits(
    account_id: str,
    body: CreditsIn,
    _: Principal = Depends(admin_principal),
    svc: Services = Depends(services),
) -> dict:
    with transaction(svc.engine, immediate=True) as s:
        a = accounts.open_month(s, accounts.get_account(s, account_id).id)
        ledger.grant(s, a.id, body.checked().amount, currency=body.currency, note=body.note or "granted by an admin")
        return _account(a, s)


@admin.get("/keys")
def list_keys(
    account: str | None = None, _: Principal = Depends(admin_principal), svc: Services = Depends(services)
) -> dict:
    with transaction(svc.engine) as s:
        account_id = accounts.get_account(s, account).id if account else None
        return {"object": "list", "data": [_key(k) for k in keys.list_keys(s, account_id)]}


@admin.post("/accounts/{account_id}/keys")
def create_key(
    account_id: str, body: KeyIn, _: Principal = Depends(admin_principal), svc: Services = Depends(services)
) -> dict:
    """A new key; the response is the only place its secret ever appears."""
    with transaction(svc.engine, immediate=True) as s:
        k, token = keys.create_key(
            s,
            account_id,
            body.checked().name,
            quota=body.quota,
            allowed_models=body.allowed_models,
            expires_at=keys.expiry_after(body.expires_in),
        )
        return {**_key(k), "key": token}


@admin.delete("/keys/{key_id}")
def revoke_key(
    key_id: str, request: Request, _: Principal = Depends(admin_principal), svc: Services = Depends(services)
) -> dict:
    with transaction(svc.engine, immediate=True) as s:
        revoked = _key(keys.revoke_key(s, key_id))
    request.app.state.principals.forget_key(revoked["id"])  # refused from now on, not once its cache expires
    return revoked


@admin.get("/usage")
def all_usage(
    month: str | None = None,
    group_by: str = "day",
    account: str | None = None,
    _: Principal = Depends(admin_principal),
    svc: Services = Depends(services),
) -> dict:
    since, until = month_bounds(_month(month))
    with transaction(svc.engine) as s:
        account_id = accounts.get_account(s, account).id if account else None
        rows = usage(s, account_id=account_id, since=since, until=until, group_by=_group(group_by))
        return {
            "object": "list",
            "month": _month(month),
            "group_by": group_by,
            "data": [r.to_dict() for r in rows],
        }


class CsvResponse(PlainTextResponse):
    media_type = "text/csv"


@admin.get("/invoices/{month}.csv", response_class=CsvResponse)
def invoices(month: str, _: Principal = Depends(admin_principal), svc: Services = Depends(services)):
    with transaction(svc.engine) as s:
        text = invoice_csv(s, get_config(), _month(month))
    return CsvResponse(text, headers={"content-disposition": f'attachment; filename="invoices-{month}.csv"'})


router.include_router(admin)
