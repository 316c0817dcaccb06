"""Admission at submit: one transaction that decides whether a job may run and holds its cost.

`admit` locks the account row (PostgreSQL `SELECT ... FOR UPDATE`; on SQLite run it inside
`transaction(engine, immediate=True)`, whose write lock serialises the same way), so parallel
submits of one account cannot overshoot its concurrency, quota or balance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Row, bindparam, exists, func, select
from sqlalchemy.orm import Session

from zoetrope.access import grants, ledger
from zoetrope.access.eligibility import check_eligibility
from zoetrope.access.entitlements import (
    RequestSummary,
    check_concurrency,
    check_request,
    concurrency_limit,
    upgrade_hint,
)
from zoetrope.access.keys import Principal, expired, expired_message
from zoetrope.access.models import Account, AccountBalance, ApiKey, Charge, LedgerEntry, utcnow
from zoetrope.access.pricing import charge_for
from zoetrope.access.usage import check_quota, record_request, today_utc
from zoetrope.config import Config, Plan, get_config
from zoetrope.errors import AuthenticationFailed, Conflict, InsufficientCredits, NotFound, PermissionDenied


@dataclass(frozen=True)
class Admission:
    """A job let in: the lane it runs in, whether it is watermarked, and what was reserved."""

    job_id: str
    account_id: str
    key_id: str | None
    plan: str
    lane: str
    watermark: bool
    max_concurrent: int
    credits: int
    points: int


_ACCOUNTS, _CHARGES, _BALANCES = Account.__table__.c, Charge.__table__.c, AccountBalance.__table__.c
_KEYS = ApiKey.__table__.c
# Admission reads twice, as plain rows: the account row under lock, then everything else it weighs
# in one statement. That read comes after the lock, so on PostgreSQL (read committed) it sees what
# every transaction that held the lock before has committed.
_LOCKED_ACCOUNT = select(Account.__table__).where(_ACCOUNTS.id == bindparam("account_id")).with_for_update()


def _balance_of(currency: str):
    return (
        select(_BALANCES.amount)
        .where(_BALANCES.account_id == bindparam("account_id"), _BALANCES.currency == currency)
        .scalar_subquery()
    )


_STANDING = select(
    select(func.count())
    .where(_CHARGES.account_id == bindparam("account_id"), _CHARGES.status == ledger.RESERVED)
    .scalar_subquery()
    .label("open_charges"),
    select(_CHARGES.account_id)
    .where(_CHARGES.job_id == bindparam("job_id"))
    .scalar_subquery()
    .label("charged"),
    exists().where(LedgerEntry.__table__.c.key == bindparam("grant_key")).label("granted"),
    # Whether the key the caller authenticated with is still live (no key: an account's own session).
    exists()
    .where(
        _KEYS.id == bindparam("key_id"),
        _KEYS.account_id == bindparam("account_id"),
        _KEYS.revoked_at.is_(None),
    )
    .label("key_live"),
    select(_KEYS.expires_at)
    .where(_KEYS.id == bindparam("key_id"), _KEYS.account_id == bindparam("account_id"))
    .scalar_subquery()
    .label("key_expires_at"),
    _balance_of("credits").label("credits"),
    _balance_of("points").label("points"),
)


def check_model_allowed(principal: Principal, model: str, config: Config | None = None) -> None:
    """`model` (canonical) against the key's list, whose entries may be aliases (`sora-2`)."""
    if principal.allowed_models is None:
        return
    config = config or get_config()
    if model not in {config.model_name(m) or m for m in principal.allowed_models}:
        raise PermissionDenied(
            f"this API key may use only {', '.join(principal.allowed_models)}, not {model}",
            code="model_not_allowed",
            param="model",
        )


def admit(
    session: Session,
    principal: Principal,
    req: RequestSummary,
    job_id: str,
    *,
    config: Config | None = None,
    now: datetime | None = None,
) -> Admission:
    """Decide and reserve: eligibility, entitlement, concurrency, quota, then credits or points.

    Raises NotEligible / EntitlementExceeded (403), QuotaExceeded (429) or InsufficientCredits (402)
    and changes nothing; admitting a job id again returns the first admission.
    """
    config = config or get_config()
    now = now or utcnow()
    today = today_utc(now)
    account = session.execute(_LOCKED_ACCOUNT, {"account_id": principal.account_id}).one_or_none()
    if account is None:
        raise NotFound(f"no account {principal.account_id!r}", param="account")
    plan = config.plan(account.plan)  # the plan as of now, not as of authentication
    grant_key = f"grant:{account.id}:{grants.month_of(today)}"
    standing = session.execute(
        _STANDING,
        {"account_id": account.id, "job_id": job_id, "grant_key": grant_key, "key_id": principal.key_id},
    ).one()
    # A principal is cached for a few seconds after its key authenticates (`zoetrope.api.deps`): what
    # spends is checked here, under the lock, so a key revoked or expired (or an account disabled) a
    # moment ago, from the admin API, the CLI or another process, cannot queue one more charged job.
    if account.disabled_at is not None:
        raise AuthenticationFailed(f"account {account.id} is disabled")
    if principal.key_id is not None and not standing.key_live:
        raise AuthenticationFailed(f"API key {principal.key_id} was revoked; use another key of the account")
    if principal.key_id is not None and expired(standing.key_expires_at, now):
        raise AuthenticationFailed(
            expired_message(principal.key_id, standing.key_expires_at, account.id), code="expired_api_key"
        )
    if standing.charged is not None:
        if standing.charged != account.id:
            raise Conflict(f"job id {job_id} is already taken", param="job_id")
        return _admission(ledger.get_charge(session, job_id), plan, account)
    check_eligibility(config, plan, account.country, account.birth_date, today)
    check_model_allowed(principal, req.model, config)
    entitlement = check_request(config, plan, req)
    check_concurrency(config, plan, standing.open_charges, account.seats)
    check_quota(
        session,
        account,
        plan,
        principal.key_id,
        principal.key_quota,
        seconds=0 if req.is_image else req.generated_seconds * req.n,
        now=now,
    )
    if not standing.granted and grants.ensure_monthly_grant(session, account, plan, today):
        standing = None  # the grant moved the balance
    # Free fast generations are counted only where the price depends on them.
    free_fast = plan.free_generations and entitlement.lane == "fast"
    fast_used = ledger.fast_generations_used(session, account.id, plan, today) if free_fast else 0
    cost = charge_for(config, plan, req, entitlement.lane, fast_used)
    _check_funds(session, config, account, plan, cost.credits, "credits", today, standing)
    _check_funds(session, config, account, plan, cost.points, "points", today, standing)
    record_request(session, account.id, principal.key_id, req.model, now=now)
    charge = ledger.hold(session, account.id, principal.key_id, job_id, req, entitlement.lane, cost, now=now)
    return _admission(charge, plan, account)


def _check_funds(
    session: Session,
    config: Config,
    account: Account | Row,
    plan: Plan,
    needed: int,
    currency: str,
    today: date,
    standing: Row | None = None,
) -> None:
    if needed <= 0:
        return
    known = None if standing is None else getattr(standing, currency)
    have = int(known) if known is not None else ledger.balance(session, account.id, currency)
    if have >= needed:
        return
    if currency == "points":
        raise InsufficientCredits(
            f"fast generations after the free {plan.free_fast_generations} cost {plan.fast_points_cost} points; "
            f"this needs {needed} and {max(have, 0)} are left; ask for the relaxed lane (free) or earn points",
            code="insufficient_points",
            param="lane",
        )
    renews = grants.next_month(today).isoformat() if plan.monthly_credits else None
    hint = upgrade_hint(config, plan, lambda p: p.monthly_credits > plan.monthly_credits)
    when = f"; credits renew on {renews}" if renews else ""
    raise InsufficientCredits(
        f"this generation costs {needed} credits and {max(have, 0)} are left{when}; ask for fewer seconds "
        f"or a lower resolution{hint}"
    )


def _admission(charge: Charge, plan: Plan, account: Account | Row) -> Admission:
    return Admission(
        job_id=charge.job_id,
        account_id=charge.account_id,
        key_id=charge.key_id,
        plan=plan.name,
        lane=charge.lane,
        watermark=not plan.watermark_free,
        max_concurrent=concurrency_limit(plan, account.seats),
        credits=charge.credits,
        points=charge.points,
    )
