"""The credit ledger: grants, and a job's reserve -> capture | release, each exactly once.

Every movement is an append-only `LedgerEntry` with a unique `key`; a job's `Charge` row moves
from `reserved` to `captured` or `released` by a guarded UPDATE, so a job retried after a dead
worker, or finished twice by a zombie and its retry, is charged exactly once. Each entry also
moves the account's `AccountBalance` in the same transaction, so reading a balance costs one row
however long the account's history (a sum over 100,000 entries took 25 ms on SQLite). A plan's
monthly credits are granted, and expire, in `zoetrope.access.grants`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from zoetrope.access.entitlements import RequestSummary
from zoetrope.access.models import Account, AccountBalance, Charge, LedgerEntry, UsageEvent, new_id, utcnow
from zoetrope.access.pricing import Charge as Cost
from zoetrope.access.usage import checked_text
from zoetrope.config import Plan
from zoetrope.db import Prepared
from zoetrope.errors import InvalidRequest

RESERVED, CAPTURED, RELEASED = "reserved", "captured", "released"
CURRENCIES = ("credits", "points")
# The most one entry moves either way: `ledger_entries.amount` is a 32-bit INTEGER on PostgreSQL.
MAX_AMOUNT = 2**31 - 1


def append(
    session: Session,
    key: str,
    account_id: str,
    kind: str,
    amount: int,
    *,
    currency: str = "credits",
    job_id: str | None = None,
    note: str = "",
) -> bool:
    """Append one entry unless an entry with `key` exists; True when it was appended."""
    if session.scalar(select(LedgerEntry.id).where(LedgerEntry.key == key)) is not None:
        return False
    entry = LedgerEntry(
        key=key, account_id=account_id, kind=kind, amount=amount, currency=currency, job_id=job_id, note=note
    )
    try:
        with session.begin_nested():
            session.add(entry)
    except IntegrityError:  # a concurrent writer appended the same key first
        return False
    _move(session, account_id, currency, amount)
    return True


_BALANCE = AccountBalance.__table__.c
# Built once, on the table rather than the mapped class: the ORM's bulk-update path cost a submit more
# than its other statements together, and no loaded balance needs synchronising (it never did).
_MOVE_BALANCE = Prepared(
    update(AccountBalance.__table__)
    .where(_BALANCE.account_id == bindparam("b_account"), _BALANCE.currency == bindparam("b_currency"))
    .values(amount=_BALANCE.amount + bindparam("b_amount"))
)


def _move(session: Session, account_id: str, currency: str, amount: int) -> None:
    """Add `amount` to the running balance, for an entry already added to the session."""
    moved = _MOVE_BALANCE(session, {"b_account": account_id, "b_currency": currency, "b_amount": amount})
    if moved.rowcount:
        return
    # The account's first entry in this currency: the balance starts as the ledger's sum, which
    # holds this entry once it is flushed.
    session.flush()
    try:
        with session.begin_nested():
            start = ledger_sum(session, account_id, currency)
            session.add(AccountBalance(account_id=account_id, currency=currency, amount=start))
    except IntegrityError:  # a concurrent writer made the row first, from a sum without this entry
        _move(session, account_id, currency, amount)


def ledger_sum(session: Session, account_id: str, currency: str = "credits") -> int:
    """The sum of the account's entries: what its running balance must always equal."""
    total = session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
            LedgerEntry.account_id == account_id, LedgerEntry.currency == currency
        )
    )
    return int(total or 0)


def balance(session: Session, account_id: str, currency: str = "credits") -> int:
    """Credits (or points) available now: grants minus captured and reserved amounts."""
    amount = session.scalar(
        select(AccountBalance.amount).where(
            AccountBalance.account_id == account_id, AccountBalance.currency == currency
        )
    )
    return int(amount) if amount is not None else ledger_sum(session, account_id, currency)


def grant(
    session: Session,
    account_id: str,
    amount: int,
    *,
    currency: str = "credits",
    note: str = "",
    key: str | None = None,
) -> bool:
    """Add (or with a negative amount, remove) credits or points; `key` makes it once-only."""
    if currency not in CURRENCIES:
        raise ValueError(f"currency must be one of {CURRENCIES}")
    if amount == 0:  # an entry that moves nothing would only clutter the account's history
        raise InvalidRequest(
            f"amount must not be 0: give the {currency} to add, or a negative number to take some back",
            param="amount",
        )
    if abs(amount) > MAX_AMOUNT:  # PostgreSQL's INTEGER would refuse it mid-write (SQLite kept it)
        raise InvalidRequest(
            f"amount {amount:,} is more than one entry holds ({MAX_AMOUNT:,} {currency} either way); "
            "split it into several grants",
            param="amount",
        )
    note = checked_text(note, LedgerEntry.note, "note")
    if amount < 0:
        _check_take_back(session, account_id, -amount, currency)
    key = key or f"adjust:{account_id}:{currency}:{utcnow().isoformat()}:{amount}"
    return append(
        session, key, account_id, "adjust" if amount < 0 else "grant", amount, currency=currency, note=note
    )


def _check_take_back(session: Session, account_id: str, amount: int, currency: str) -> None:
    """Refuse to take back more than the account has: a balance below zero would refuse every
    create until it is paid off, for credits the account never held. The account's row is locked
    first, as admission locks it, so a job admitted meanwhile cannot spend what this takes."""
    session.execute(select(Account.id).where(Account.id == account_id).with_for_update())
    have = balance(session, account_id, currency)
    if amount > have:
        most = f"it has {have:,}: take back at most {have:,}" if have > 0 else "it has none to take back"
        raise InvalidRequest(
            f"amount -{amount:,} would leave the account at {have - amount:,} {currency}; {most}",
            param="amount",
        )


# A month's grant as the ledger holds it: what `zoetrope.access.grants` writes and reads, and what a
# charge settled after its month ended reads here (`_expire_late`).
def monthly_grants(account_id: str, prefix: str = ""):
    """The account's monthly grant entries, keyed `grant:ACCOUNT:YYYY-MM` and, after a change to a
    larger plan, `grant:ACCOUNT:YYYY-MM:top-up:N` (not credits bought or added by hand)."""
    return select(LedgerEntry).where(
        LedgerEntry.account_id == account_id,
        LedgerEntry.kind == "grant",
        LedgerEntry.key.like(f"grant:{account_id}:{prefix}%"),
    )


def month_of_grant(entry: LedgerEntry) -> str:
    return entry.key.split(":")[2]


def granted_in(session: Session, account_id: str, period: str) -> tuple[int, int] | None:
    """(first entry id, credits) of the account's grant for `period` with its top-ups; None if none."""
    first, total = session.execute(
        monthly_grants(account_id, period).with_only_columns(
            func.min(LedgerEntry.id), func.coalesce(func.sum(LedgerEntry.amount), 0)
        )
    ).one()
    return None if first is None else (int(first), int(total))


def spent_since(session: Session, account_id: str, after: int, before: int | None = None) -> int:
    """Credits of the charges reserved between ledger entries `after` and `before` that are still
    held or were captured (at their final amount): what a month spent of its grant. A month's
    credits are spent before bought ones, so this is what decides how much of a grant expires."""
    stmt = (
        select(func.coalesce(func.sum(Charge.credits), 0))
        .join(LedgerEntry, LedgerEntry.job_id == Charge.job_id)
        .where(
            Charge.account_id == account_id,
            Charge.status != RELEASED,
            LedgerEntry.kind == "reserve",
            LedgerEntry.currency == "credits",
            LedgerEntry.id > after,
        )
    )
    if before is not None:
        stmt = stmt.where(LedgerEntry.id < before)
    return int(session.scalar(stmt) or 0)


def month_end_after(session: Session, account_id: str, entry_id: int) -> LedgerEntry | None:
    """The first turn of a month (its `expire:ACCOUNT:YYYY-MM` entry, which `grants` writes even for
    nothing) after ledger entry `entry_id`."""
    return session.scalar(
        select(LedgerEntry)
        .where(
            LedgerEntry.account_id == account_id,
            LedgerEntry.kind == "expire",
            LedgerEntry.key.like(f"expire:{account_id}:%"),
            LedgerEntry.id > entry_id,
        )
        .order_by(LedgerEntry.id)
        .limit(1)
    )


def fast_generations_used(session: Session, account_id: str, plan: Plan, today: date) -> int:
    """Free fast generations used so far (this month, or ever, per the plan)."""
    stmt = select(func.coalesce(func.sum(Charge.fast_free), 0)).where(
        Charge.account_id == account_id, Charge.status != RELEASED
    )
    if plan.free_fast_period == "month":
        stmt = stmt.where(Charge.created_at >= datetime(today.year, today.month, 1, tzinfo=UTC))
    return int(session.scalar(stmt) or 0)


def open_charges(session: Session, account_id: str) -> int:
    """Jobs of the account that are admitted and not yet finished (its concurrency in use)."""
    stmt = (
        select(func.count())
        .select_from(Charge)
        .where(Charge.account_id == account_id, Charge.status == RESERVED)
    )
    return int(session.scalar(stmt) or 0)


def get_charge(session: Session, job_id: str) -> Charge | None:
    return session.scalar(select(Charge).where(Charge.job_id == job_id))


def reserve(
    session: Session,
    account_id: str,
    key_id: str | None,
    job_id: str,
    req: RequestSummary,
    lane: str,
    cost: Cost,
    *,
    now: datetime | None = None,
) -> Charge:
    """Hold `cost` for `job_id`; a job already reserved gets its existing charge back."""
    existing = get_charge(session, job_id)
    if existing is not None:
        return existing
    return hold(session, account_id, key_id, job_id, req, lane, cost, now=now)


def hold(
    session: Session,
    account_id: str,
    key_id: str | None,
    job_id: str,
    req: RequestSummary,
    lane: str,
    cost: Cost,
    *,
    now: datetime | None = None,
) -> Charge:
    """`reserve` for a job the caller knows has no charge yet (admission looked, under the
    account's lock). The rows go in as plain INSERTs, without the session's unit of work: the
    charge returned is a detached copy of what was written."""
    values = {
        "id": new_id("chg"),
        "job_id": job_id,
        "account_id": account_id,
        "key_id": key_id,
        "model": req.model,
        "task": req.task,
        "lane": lane,
        "seconds": req.generated_seconds,  # what usage and day quotas count
        "width": req.width,
        "height": req.height,
        "n": req.n,
        "credits": cost.credits,
        "points": cost.points,
        "fast_free": cost.fast_free_used,
        "status": RESERVED,
        "created_at": now or utcnow(),
    }
    # `charges.job_id` is unique, so a second hold fails here, before any entry of it counts.
    _INSERT_CHARGE(session, values)
    for currency, amount in (("credits", cost.credits), ("points", cost.points)):
        if amount:
            _INSERT_ENTRY(
                session,
                {
                    "key": f"reserve:{job_id}:{currency}",
                    "account_id": account_id,
                    "job_id": job_id,
                    "kind": "reserve",
                    "currency": currency,
                    "amount": -amount,
                    "note": "",
                    "created_at": values["created_at"],
                },
            )
            _move(session, account_id, currency, -amount)
    return Charge(**values)


_INSERT_CHARGE = Prepared(insert(Charge.__table__))
_INSERT_ENTRY = Prepared(insert(LedgerEntry.__table__))


def _settle(session: Session, job_id: str, status: str) -> Charge | None:
    """Move the job's charge out of `reserved`; None when it was settled before (or never held)."""
    moved = session.execute(
        update(Charge.__table__)
        .where(Charge.job_id == job_id, Charge.status == RESERVED)
        .values(status=status, settled_at=utcnow())
    ).rowcount
    if moved != 1:
        return None
    charge = get_charge(session, job_id)
    if charge is not None:
        session.refresh(charge)
    return charge


def capture(session: Session, job_id: str, *, seconds: float | None = None) -> Charge | None:
    """Charge the job's reservation on success, once; None when already settled.

    With `seconds` shorter than reserved, the unused share of the credits is returned.
    """
    charge = _settle(session, job_id, CAPTURED)
    if charge is None:
        return None
    final = charge.credits
    if seconds is not None and charge.seconds > 0 and seconds < charge.seconds:
        final = -(-charge.credits * seconds // charge.seconds)  # ceil, never above the reservation
        refund = charge.credits - int(final)
        if refund:
            append(
                session,
                f"capture:{job_id}:credits",
                charge.account_id,
                "capture",
                refund,
                job_id=job_id,
                note=f"{seconds:g} of {charge.seconds:g} s generated",
            )
        charge.credits, charge.seconds = int(final), seconds
        if refund:
            _expire_late(session, charge, refund)
    session.add(
        UsageEvent(
            account_id=charge.account_id,
            key_id=charge.key_id,
            kind="generation",
            model=charge.model,
            job_id=job_id,
            seconds=charge.seconds * charge.n,
            credits=charge.credits,
            points=charge.points,
        )
    )
    session.flush()
    return charge


def release(session: Session, job_id: str, *, reason: str = "failed") -> Charge | None:
    """Return the job's reservation on failure or cancel, once; None when already settled."""
    charge = _settle(session, job_id, RELEASED)
    if charge is None:
        return None
    for currency, amount in (("credits", charge.credits), ("points", charge.points)):
        if amount:
            append(
                session,
                f"release:{job_id}:{currency}",
                charge.account_id,
                "release",
                amount,
                currency=currency,
                job_id=job_id,
                note=reason,
            )
    if charge.credits:
        _expire_late(session, charge, charge.credits)
    session.flush()
    return charge


def _expire_late(session: Session, charge: Charge, returned: int) -> None:
    """`returned` credits of `charge` came back (released, or the unused share of a capture) after
    the end of the month it was reserved in: the share that was that month's grant expires now, as
    it would have at the month's end (else holding jobs over the turn of a month would carry
    credits into the next)."""
    session.flush()  # the charge at its settled status and final amount, as `spent_since` reads it
    reserved = session.scalar(
        select(LedgerEntry.id).where(LedgerEntry.key == f"reserve:{charge.job_id}:credits")
    )
    if reserved is None:
        return
    then = session.scalar(
        monthly_grants(charge.account_id)
        .where(LedgerEntry.id < reserved)
        .order_by(LedgerEntry.id.desc())
        .limit(1)
    )
    end = month_end_after(session, charge.account_id, reserved) if then is not None else None
    if end is None:
        return  # returned in the month it was reserved in (or not paid from a month's grant)
    month = month_of_grant(then)
    first, granted = granted_in(session, charge.account_id, month) or (then.id, then.amount)
    # What the month had left when it ended, this charge counted at what it kept (nothing, released).
    left = granted - spent_since(session, charge.account_id, first, end.id) + end.amount
    share = max(0, min(returned, left))
    if share:
        append(
            session,
            f"expire:{charge.job_id}:{charge.status}",
            charge.account_id,
            "expire",
            -share,
            job_id=charge.job_id,
            note=f"held over the end of {month}: its monthly credits expired",
        )


def entries(session: Session, account_id: str, limit: int = 100) -> list[LedgerEntry]:
    stmt = (
        select(LedgerEntry)
        .where(LedgerEntry.account_id == account_id)
        .order_by(LedgerEntry.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))
