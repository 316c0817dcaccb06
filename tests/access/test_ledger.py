"""The ledger: reserve -> capture | release exactly once, monthly grants, points, on SQLite and PostgreSQL."""

import threading
from datetime import date

import pytest
from sqlalchemy import delete

from zoetrope.access import grants, ledger
from zoetrope.access.accounts import create_account
from zoetrope.access.entitlements import RequestSummary
from zoetrope.access.models import AccountBalance, Charge, LedgerEntry
from zoetrope.access.pricing import Charge as Cost
from zoetrope.config import load_config
from zoetrope.db import transaction

CFG = load_config()
REQ = RequestSummary(model="zoetrope-mini", width=1280, height=720, seconds=10)


def _account(engine, plan="plus", seats=1):
    with transaction(engine) as s:
        acct = create_account(s, f"a-{plan}-{seats}", plan=plan, seats=seats)
        grants.ensure_monthly_grant(s, acct, CFG.plan(plan), date(2025, 6, 1))
        return acct.id


def _balance(engine, account_id, currency="credits"):
    """The balance, checked against the sum of the account's entries, which it must always equal."""
    with transaction(engine) as s:
        running = ledger.balance(s, account_id, currency)
        assert running == ledger.ledger_sum(s, account_id, currency)
        return running


def _reserve(engine, account_id, job_id, credits=20):
    with transaction(engine) as s:
        return ledger.reserve(s, account_id, None, job_id, REQ, "relaxed", Cost(credits=credits))


def test_monthly_grant_is_given_once_per_month_and_does_not_roll_over(engine):
    acct = _account(engine)
    assert _balance(engine, acct) == 1000
    with transaction(engine) as s:
        a = s.get(ledger.Account, acct)
        assert not grants.ensure_monthly_grant(s, a, CFG.plan("plus"), date(2025, 6, 30))
    _reserve(engine, acct, "video_1", 300)
    with transaction(engine) as s:
        ledger.capture(s, "video_1")
        assert grants.ensure_monthly_grant(s, s.get(ledger.Account, acct), CFG.plan("plus"), date(2025, 7, 1))
    assert _balance(engine, acct) == 1000  # the 700 unspent of June expired, July's 1000 granted


def _next_month(engine, acct, day=date(2025, 7, 1)):
    with transaction(engine) as s:
        assert grants.ensure_monthly_grant(s, s.get(ledger.Account, acct), CFG.plan("plus"), day)


def test_credits_a_job_holds_over_the_end_of_the_month_expire_when_it_releases_them(engine):
    acct = _account(engine)
    _reserve(engine, acct, "video_held", 300)  # still queued when June ends
    _reserve(engine, acct, "video_spent", 700)
    with transaction(engine) as s:
        ledger.capture(s, "video_spent")
    _next_month(engine, acct)
    assert _balance(engine, acct) == 1000  # July's grant; the held 300 count as spent
    with transaction(engine) as s:
        ledger.release(s, "video_held", reason="cancelled")
    assert _balance(engine, acct) == 1000  # June's 300 came back and expired with June: not 1300


def test_a_held_charge_captured_or_released_after_the_month_ends_is_counted_once(engine):
    acct = _account(engine)
    _reserve(engine, acct, "video_a", 300)
    _reserve(engine, acct, "video_b", 300)
    _reserve(engine, acct, "video_c", 200)
    with transaction(engine) as s:
        ledger.capture(s, "video_c")
    _next_month(engine, acct)  # June's 200 unspent expire
    assert _balance(engine, acct) == 1000
    with transaction(engine) as s:
        ledger.capture(s, "video_a")  # spent in June: nothing moves
        ledger.release(s, "video_b")  # June's credits: they come back expired
    assert _balance(engine, acct) == 1000


def test_the_unused_share_of_a_capture_after_the_month_ends_expires_with_the_month(engine):
    acct = _account(engine)
    _reserve(engine, acct, "video_long", 1000)  # all of June's credits, held over its end
    _next_month(engine, acct)
    with transaction(engine) as s:
        ledger.capture(s, "video_long", seconds=5)  # made half of what it reserved: 500 come back
    assert _balance(engine, acct) == 1000  # June's 500 expired: not 1500
    _next_month(engine, acct, date(2025, 8, 1))
    assert _balance(engine, acct) == 1000  # and nothing of June reaches August


def test_a_plan_without_monthly_credits_still_lets_the_last_months_expire(engine):
    acct = _account(engine)
    with transaction(engine) as s:
        ledger.grant(s, acct, 50, note="bought")
        account = s.get(ledger.Account, acct)
        assert not grants.ensure_monthly_grant(s, account, CFG.plan("free"), date(2025, 7, 1))
        assert not grants.ensure_monthly_grant(s, account, CFG.plan("free"), date(2025, 8, 1))
    assert _balance(engine, acct) == 50  # June's 1000 expired once; the 50 bought stay


def test_bought_credits_outlive_the_month_and_its_credits_are_spent_first(engine):
    acct = _account(engine)
    with transaction(engine) as s:
        ledger.grant(s, acct, 500, note="bought")
    _reserve(engine, acct, "video_small", 10)
    with transaction(engine) as s:
        ledger.capture(s, "video_small")
    _next_month(engine, acct)
    assert _balance(engine, acct) == 500 + 1000  # June's 990 unspent expired, the 500 bought stay


def test_a_larger_plan_or_more_seats_raise_this_months_credits_at_once(engine):
    from zoetrope.access.accounts import open_account, update_account
    from zoetrope.access.usage import today_utc

    with transaction(engine) as s:
        acct = open_account(s, "upgrader", plan="plus").id
        team = open_account(s, "growing", plan="team", seats=1).id
    _reserve(engine, acct, "video_before", 1)
    with transaction(engine) as s:
        update_account(s, acct, plan="pro")
        update_account(s, team, seats=5)
        update_account(s, team, seats=5)  # the same change again grants nothing more
    assert _balance(engine, acct) == 10000 - 1  # pro's month, less what was spent on plus
    assert _balance(engine, team) == 5000
    with transaction(engine) as s:
        update_account(s, acct, plan="plus")  # smaller: the month keeps what it was granted
    assert _balance(engine, acct) == 9999
    with transaction(engine) as s:  # next month: the whole of this month's unspent expires, top-up and all
        nxt = grants.next_month(today_utc())
        grants.ensure_monthly_grant(s, s.get(ledger.Account, acct), CFG.plan("plus"), nxt)
    assert _balance(engine, acct) == 1000


def test_team_grant_is_per_seat(engine):
    assert _balance(engine, _account(engine, "team", seats=3)) == 3000


def test_reserve_holds_capture_keeps_release_returns(engine):
    acct = _account(engine)
    _reserve(engine, acct, "video_ok")
    _reserve(engine, acct, "video_bad")
    assert _balance(engine, acct) == 960
    with transaction(engine) as s:
        assert ledger.open_charges(s, acct) == 2
        assert ledger.capture(s, "video_ok").status == "captured"
        assert ledger.release(s, "video_bad", reason="cancelled").status == "released"
        assert ledger.open_charges(s, acct) == 0
    assert _balance(engine, acct) == 980


def test_a_retried_job_is_reserved_and_charged_exactly_once(engine):
    acct = _account(engine)
    first = _reserve(engine, acct, "video_retry")
    again = _reserve(engine, acct, "video_retry")  # the retry path admits the same job again
    assert again.id == first.id
    with transaction(engine) as s:
        assert ledger.capture(s, "video_retry") is not None
    with transaction(engine) as s:  # the dead worker's attempt finishes late
        assert ledger.capture(s, "video_retry") is None
        assert ledger.release(s, "video_retry") is None  # and a late failure cannot refund it
    assert _balance(engine, acct) == 980
    with transaction(engine) as s:
        rows = s.query(LedgerEntry).filter_by(job_id="video_retry").all()
        assert [(e.kind, e.amount) for e in rows] == [("reserve", -20)]
        assert s.query(Charge).filter_by(job_id="video_retry").count() == 1


def test_parallel_captures_of_one_job_charge_once(engine):
    acct = _account(engine)
    _reserve(engine, acct, "video_race")
    results = []
    barrier = threading.Barrier(4)

    def finish(i):
        barrier.wait()
        with transaction(engine, immediate=True) as s:
            fn = ledger.capture if i % 2 else ledger.release
            results.append(fn(s, "video_race") is not None)

    threads = [threading.Thread(target=finish, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, False, False, True]
    with transaction(engine) as s:
        settles = s.query(LedgerEntry).filter(LedgerEntry.job_id == "video_race").count()
        status = s.query(Charge).filter_by(job_id="video_race").one().status
    assert _balance(engine, acct) == (980 if status == "captured" else 1000)
    assert settles == (1 if status == "captured" else 2)


def test_capture_of_fewer_seconds_refunds_the_difference(engine):
    acct = _account(engine)
    _reserve(engine, acct, "video_short")
    with transaction(engine) as s:
        assert ledger.capture(s, "video_short", seconds=5).credits == 10
    assert _balance(engine, acct) == 990


def test_points_are_granted_reserved_and_released(engine):
    acct = _account(engine, "bing-free")
    assert _balance(engine, acct) == 0
    with transaction(engine) as s:
        ledger.grant(s, acct, 250, currency="points", key="rewards:1")
        assert not ledger.grant(s, acct, 250, currency="points", key="rewards:1")
        ledger.reserve(s, acct, None, "video_pts", REQ, "fast", Cost(points=100))
    assert _balance(engine, acct, "points") == 150
    with transaction(engine) as s:
        ledger.release(s, "video_pts")
    assert _balance(engine, acct, "points") == 250


def test_the_running_balance_keeps_to_the_ledger_under_concurrent_writers(engine):
    acct = _account(engine)  # 1000 credits
    barrier = threading.Barrier(6)
    errors = []

    def work(i):
        try:
            barrier.wait()
            for j in range(8):
                with transaction(engine, immediate=True) as s:
                    ledger.reserve(s, acct, None, f"video_{i}_{j}", REQ, "relaxed", Cost(credits=5))
                with transaction(engine, immediate=True) as s:
                    (ledger.capture if j % 2 else ledger.release)(s, f"video_{i}_{j}")
                with transaction(engine, immediate=True) as s:
                    ledger.grant(s, acct, 1, key=f"bonus:{i}:{j}")
        except Exception as e:  # noqa: BLE001 - raised in the test thread below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert _balance(engine, acct) == 1000 - 6 * 4 * 5 + 6 * 8  # 24 captured of 5 each, 48 bonuses


def test_a_rolled_back_transaction_leaves_the_balance_as_it_was(engine):
    acct = _account(engine)
    with pytest.raises(RuntimeError), transaction(engine) as s:
        ledger.reserve(s, acct, None, "video_gone", REQ, "relaxed", Cost(credits=300))
        ledger.grant(s, acct, 50, key="gift:1")
        assert ledger.balance(s, acct) == 750  # seen inside the transaction
        raise RuntimeError("the job row could not be written")
    assert _balance(engine, acct) == 1000


def test_an_account_without_a_running_balance_starts_it_from_its_ledger(engine):
    """Entries written before the running balance existed: read as their sum, then carried on."""
    acct = _account(engine)
    _reserve(engine, acct, "video_old", 100)
    with transaction(engine) as s:
        s.execute(delete(AccountBalance).where(AccountBalance.account_id == acct))
    assert _balance(engine, acct) == 900
    _reserve(engine, acct, "video_new", 50)
    with transaction(engine) as s:
        assert s.get(AccountBalance, (acct, "credits")).amount == 850
    assert _balance(engine, acct) == 850
