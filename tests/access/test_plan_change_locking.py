"""A change of plan or seats locks the account's row, as admission does: changes made at the same
moment (another change, the month's first create) are applied one after the other, so none of them
reads the account as it was before the other and grants (or records) the wrong plan."""

import threading
from datetime import date

from sqlalchemy import select

from zoetrope.access import grants, ledger
from zoetrope.access.accounts import create_account, update_account
from zoetrope.access.admission import admit
from zoetrope.access.entitlements import RequestSummary
from zoetrope.access.keys import create_key, principal_for
from zoetrope.access.models import Account, ApiKey, PlanChange
from zoetrope.config import get_config
from zoetrope.db import transaction

REQ = RequestSummary(model="zoetrope-mini", width=640, height=480, seconds=4)


def _granted_this_month(engine, account_id) -> int:
    with transaction(engine) as s:
        got = ledger.granted_in(s, account_id, grants.month_of(date.today()))
        return 0 if got is None else got[1]


def _while_held(engine, first, second) -> None:
    """Run `first(session)` in a transaction left open, then `second()` in a thread; commit the first
    only once the second has had every chance to finish without waiting for it."""
    s = engine.connect()
    from sqlalchemy.orm import Session

    session = Session(bind=s)
    trans = s.begin()
    first(session)
    session.flush()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            second()
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(1.5)  # unlocked, the second change is done by now; locked, it waits for the commit
    trans.commit()
    session.close()
    s.close()
    thread.join(20)
    assert not thread.is_alive() and not errors, errors


def test_seats_changed_while_the_plan_changes_are_granted_on_the_new_plan(pg_engine):
    with transaction(pg_engine) as s:
        account = create_account(s, "crew", plan="plus")
        grants.ensure_monthly_grant(s, account, get_config().plan("plus"), date.today())
        account_id = account.id

    def seats() -> None:
        with transaction(pg_engine) as s:
            update_account(s, account_id, seats=5)

    _while_held(pg_engine, lambda s: update_account(s, account_id, plan="team"), seats)
    with transaction(pg_engine) as s:
        account = s.get(Account, account_id)
        assert (account.plan, account.seats) == ("team", 5)
        last = s.scalar(
            select(PlanChange).where(PlanChange.account_id == account_id).order_by(PlanChange.id.desc())
        )
        assert (last.plan, last.seats) == ("team", 5)  # the history bills what the account has
    team = get_config().plan("team")
    assert _granted_this_month(pg_engine, account_id) == team.monthly_credits * 5


def test_a_larger_plan_set_during_the_months_first_create_gets_its_top_up(pg_engine):
    with transaction(pg_engine) as s:
        account = create_account(s, "ada", plan="plus")  # this month not granted yet
        account_id = account.id
        key, _ = create_key(s, account_id)
        principal = principal_for(account, s.get(ApiKey, key.id))

    def patch() -> None:
        with transaction(pg_engine) as s:
            update_account(s, account_id, plan="pro")

    _while_held(pg_engine, lambda s: admit(s, principal, REQ, "video_first"), patch)
    assert _granted_this_month(pg_engine, account_id) == get_config().plan("pro").monthly_credits
