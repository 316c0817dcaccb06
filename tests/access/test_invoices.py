"""Monthly invoices bill the plans each month had, not the plan the account has when they are made."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from sqlalchemy import select, update

from zoetrope.access.accounts import create_account, update_account
from zoetrope.access.models import PlanChange
from zoetrope.access.usage import invoice_csv
from zoetrope.config import load_config
from zoetrope.db import transaction

CFG = load_config()


def _at(engine, account_id: str, *days: str) -> None:
    """Date the account's plan history: its creation, then each change, in order (`days` ISO)."""
    with transaction(engine) as s:
        ids = s.scalars(
            select(PlanChange.id).where(PlanChange.account_id == account_id).order_by(PlanChange.id)
        )
        for change_id, day in zip(list(ids), days, strict=True):
            at = datetime.fromisoformat(day).replace(tzinfo=UTC)
            s.execute(update(PlanChange).where(PlanChange.id == change_id).values(at=at))


def _invoice(engine, month: str) -> dict[str, dict]:
    with transaction(engine) as s:
        text = invoice_csv(s, CFG, month)
    return {row["account"]: row for row in csv.DictReader(io.StringIO(text))}


def test_each_month_bills_the_dearest_plan_it_held_and_later_changes_leave_it_alone(engine):
    with transaction(engine) as s:
        ada = create_account(s, "ada", plan="plus").id
    with transaction(engine) as s:
        update_account(s, ada, plan="pro")
    with transaction(engine) as s:
        update_account(s, ada, plan="plus")
    _at(engine, ada, "2030-01-10", "2030-02-15", "2030-03-20")
    billed = {m: (_invoice(engine, m)["ada"]["plan"], _invoice(engine, m)["ada"]["subscription_usd"])
              for m in ("2030-01", "2030-02", "2030-03", "2030-04")}  # fmt: skip
    assert billed == {
        "2030-01": ("plus", "20.00"),
        "2030-02": ("pro", "200.00"),  # upgraded mid-month: the month had pro's credits from that day
        "2030-03": ("pro", "200.00"),  # downgraded mid-month: the month kept pro's credits
        "2030-04": ("plus", "20.00"),
    }


def test_seats_added_mid_month_bill_the_month_and_no_change_writes_no_history(engine):
    with transaction(engine) as s:
        team = create_account(s, "crew", plan="team", seats=3).id
    with transaction(engine) as s:
        update_account(s, team, seats=5)
        update_account(s, team, seats=5)  # no change: nothing new to bill
        update_account(s, team, country="GB")
    with transaction(engine) as s:
        assert [(c.plan, c.seats) for c in s.scalars(select(PlanChange).order_by(PlanChange.id))] == [
            ("team", 3),
            ("team", 5),
        ]
    _at(engine, team, "2030-01-01", "2030-02-10")
    assert (
        _invoice(engine, "2030-01")["crew"]["seats"],
        _invoice(engine, "2030-01")["crew"]["subscription_usd"],
    ) == (
        "3",
        "60.00",
    )
    assert (
        _invoice(engine, "2030-02")["crew"]["seats"],
        _invoice(engine, "2030-02")["crew"]["subscription_usd"],
    ) == (
        "5",
        "100.00",
    )


def test_an_account_made_during_the_month_bills_its_first_plan_and_a_later_one_is_not_invoiced_yet(engine):
    with transaction(engine) as s:
        early = create_account(s, "early", plan="pro").id
        late = create_account(s, "late", plan="pro").id
    _at(engine, early, "2030-05-31")
    _at(engine, late, "2030-06-01")
    from zoetrope.access.models import Account

    with transaction(engine) as s:  # the accounts' own creation dates, as the history's
        s.execute(
            update(Account).where(Account.id == early).values(created_at=datetime(2030, 5, 31, tzinfo=UTC))
        )
        s.execute(
            update(Account).where(Account.id == late).values(created_at=datetime(2030, 6, 1, tzinfo=UTC))
        )
    may = _invoice(engine, "2030-05")
    assert may["early"]["plan"] == "pro" and "late" not in may
