"""A plan's monthly credits: granted once a month (on the month's first create, or when a balance is
shown), what is left of the last month's grant expiring then, and raised the day a plan or its seats
grow. Each is a ledger entry (`zoetrope.access.ledger`), keyed so it is written once.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from zoetrope.access import ledger
from zoetrope.access.models import Account, LedgerEntry
from zoetrope.config import Plan


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def monthly_amount(account: Account, plan: Plan) -> int:
    return plan.monthly_credits * (max(account.seats, 1) if plan.per_seat else 1)


def ensure_monthly_grant(session: Session, account: Account, plan: Plan, today: date) -> bool:
    """Grant this month's plan credits once; the last grant's unspent credits expire first (a
    month's credits are spent before bought ones, which stay; credits a job still holds count as
    spent, and expire when it releases them: `ledger.release`). A plan without monthly credits grants
    none, but the last grant still expires."""
    period = month_of(today)
    key = f"grant:{account.id}:{period}"
    if session.scalar(select(LedgerEntry.id).where(LedgerEntry.key == key)) is not None:
        return False
    _end_last_month(session, account.id, period)
    amount = monthly_amount(account, plan)
    if amount <= 0:
        return False
    return ledger.append(
        session, key, account.id, "grant", amount, note=f"{plan.name} monthly credits {period}"
    )


def month_due(session: Session, account: Account, plan: Plan, today: date) -> bool:
    """Whether `ensure_monthly_grant` has something to write for `today`'s month: its grant, or (a
    plan without monthly credits) the end of the last grant. Reads only, so a reader can look
    before it takes the account's lock to write."""
    period = month_of(today)
    if (
        session.scalar(select(LedgerEntry.id).where(LedgerEntry.key == f"grant:{account.id}:{period}"))
        is not None
    ):
        return False
    if monthly_amount(account, plan) > 0:
        return True
    last = session.scalar(ledger.monthly_grants(account.id).order_by(LedgerEntry.id.desc()).limit(1))
    return (
        last is not None
        and ledger.month_of_grant(last) != period
        and ledger.month_end_after(session, account.id, last.id) is None
    )


def _end_last_month(session: Session, account_id: str, period: str) -> None:
    """Expire what is left of the last month's grant, once, with the entry `expire:ACCOUNT:PERIOD`
    (written even for nothing: it marks where that month ended, which a charge settled later reads: `ledger.release`)."""
    rollover = f"expire:{account_id}:{period}"
    if session.scalar(select(LedgerEntry.id).where(LedgerEntry.key == rollover)) is not None:
        return
    last = session.scalar(ledger.monthly_grants(account_id).order_by(LedgerEntry.id.desc()).limit(1))
    if (
        last is None
        or ledger.month_of_grant(last) == period
        or ledger.month_end_after(session, account_id, last.id)
    ):
        return  # nothing granted yet, or the last grant ended at an earlier turn of a month
    first, granted = ledger.granted_in(session, account_id, ledger.month_of_grant(last)) or (
        last.id,
        last.amount,
    )
    unspent = max(
        0, min(ledger.balance(session, account_id), granted - ledger.spent_since(session, account_id, first))
    )
    ledger.append(
        session,
        rollover,
        account_id,
        "expire",
        -unspent,
        note=f"monthly credits of {ledger.month_of_grant(last)} expire",
    )


def top_up_monthly_grant(session: Session, account: Account, plan: Plan, today: date) -> bool:
    """After a change of plan or seats: raise this month's grant to what `plan` grants (the
    difference, once per amount); a smaller plan keeps what the month granted, and grants its own
    from the next month. A month not granted yet is granted at the new plan by `ensure_monthly_grant`."""
    period = month_of(today)
    granted = ledger.granted_in(session, account.id, period)
    amount = monthly_amount(account, plan)
    if granted is None or amount <= granted[1]:
        return False
    return ledger.append(
        session,
        f"grant:{account.id}:{period}:top-up:{amount}",
        account.id,
        "grant",
        amount - granted[1],
        note=f"{plan.name} from {today.isoformat()}: {period}'s credits raised to {amount}",
    )
