"""Admission at submit: every check in one transaction, and no overshoot under parallel submits."""

import threading
from datetime import UTC, date, datetime, timedelta

import pytest

from zoetrope.access import grants, ledger
from zoetrope.access.accounts import create_account
from zoetrope.access.admission import admit
from zoetrope.access.entitlements import RequestSummary
from zoetrope.access.keys import authenticate, create_key
from zoetrope.access.usage import usage
from zoetrope.db import transaction
from zoetrope.errors import (
    EntitlementExceeded,
    InsufficientCredits,
    InvalidRequest,
    NotEligible,
    PermissionDenied,
    QuotaExceeded,
)

NOW = datetime(2025, 6, 10, 12, 0, tzinfo=UTC)


def req(w=1280, h=720, seconds=5.0, lane=None, model="zoetrope-mini"):
    return RequestSummary(model=model, width=w, height=h, seconds=seconds, lane=lane)


def principal(engine, name="ada", plan="plus", country="US", birth=date(1990, 1, 1), seats=1, **key):
    with transaction(engine) as s:
        acct = create_account(s, name, plan=plan, country=country, birth_date=birth, seats=seats)
        _, token = create_key(s, acct.id, **key)
    with transaction(engine) as s:
        return authenticate(s, token)


def submit(engine, p, job_id, r=None, now=NOW):
    with transaction(engine, immediate=True) as s:
        return admit(s, p, r or req(), job_id, now=now)


def test_admitted_job_gets_lane_watermark_and_reserves_its_price(engine):
    p = principal(engine, plan="pro")
    a = submit(engine, p, "video_1", req(1920, 1080, 20))
    assert (a.plan, a.lane, a.watermark, a.credits, a.max_concurrent) == ("pro", "fast", False, 80, 5)
    with transaction(engine) as s:
        assert ledger.balance(s, p.account_id) == 10000 - 80


def test_admitting_the_same_job_again_returns_the_first_admission(engine):
    p = principal(engine)
    first = submit(engine, p, "video_1")
    assert submit(engine, p, "video_1") == first
    with transaction(engine) as s:
        assert ledger.balance(s, p.account_id) == 1000 - 10


def test_refusals_change_nothing(engine):
    p = principal(engine)
    with pytest.raises(EntitlementExceeded):
        submit(engine, p, "video_long", req(seconds=15))
    with transaction(engine) as s:
        assert ledger.get_charge(s, "video_long") is None and ledger.open_charges(s, p.account_id) == 0


def test_eligibility_is_checked_at_submit_against_the_clock(engine):
    gb = principal(engine, "brit", country="GB")
    with pytest.raises(NotEligible) as e:
        submit(engine, gb, "video_jan", now=datetime(2025, 1, 15, tzinfo=UTC))
    assert e.value.code == "region_unavailable"
    submit(engine, gb, "video_mar", now=datetime(2025, 3, 1, tzinfo=UTC))
    teen = principal(engine, "teen", birth=date(2010, 1, 1))
    with pytest.raises(NotEligible, match="2028-01-01"):
        submit(engine, teen, "video_teen")
    edu = principal(engine, "school", plan="edu")
    assert pytest.raises(NotEligible, submit, engine, edu, "video_edu").value.code == "plan_excluded"


def test_plus_allows_one_concurrent_job_until_it_finishes(engine):
    p = principal(engine)
    submit(engine, p, "video_1")
    with pytest.raises(QuotaExceeded) as e:
        submit(engine, p, "video_2")
    assert e.value.code == "concurrency_limit_exceeded" and e.value.retry_after
    with transaction(engine) as s:
        ledger.capture(s, "video_1")
    submit(engine, p, "video_2")


def test_key_allowed_models_and_key_quota(engine):
    p = principal(engine, plan="pro", allowed_models=["zoetrope-mini"], quota={"requests_per_minute": 2})
    with pytest.raises(PermissionDenied, match="only zoetrope-mini"):
        submit(engine, p, "video_x", req(model="other"))
    submit(engine, p, "video_1")
    submit(engine, p, "video_2", now=NOW + timedelta(seconds=10))
    with pytest.raises(QuotaExceeded) as e:
        submit(engine, p, "video_3", now=NOW + timedelta(seconds=20))
    assert e.value.status == 429 and e.value.retry_after == 40
    submit(engine, p, "video_3", now=NOW + timedelta(seconds=61))


def test_bing_seconds_per_day_quota_with_retry_after(engine):
    p = principal(engine, plan="bing-free")
    for i in range(60):  # 300 s per day in 5 s clips
        submit(engine, p, f"video_{i}", req(480, 854, 5), now=NOW + timedelta(minutes=5 * i))
        with transaction(engine) as s:
            ledger.capture(s, f"video_{i}")
    with pytest.raises(QuotaExceeded, match="300 generated seconds per day") as e:
        submit(engine, p, "video_more", req(480, 854, 5), now=NOW + timedelta(hours=5, minutes=1))
    assert 0 < e.value.retry_after <= 24 * 3600


def test_bing_fast_generations_free_for_ten_then_points(engine):
    p = principal(engine, plan="bing-free")
    for i in range(10):
        a = submit(engine, p, f"video_f{i}", req(480, 854, 5, lane="fast"), now=NOW + timedelta(minutes=i))
        assert (a.lane, a.credits, a.points) == ("fast", 0, 0)
        with transaction(engine) as s:
            ledger.capture(s, f"video_f{i}")
    with pytest.raises(InsufficientCredits, match="100 points") as e:
        submit(engine, p, "video_f10", req(480, 854, 5, lane="fast"), now=NOW + timedelta(minutes=11))
    assert e.value.status == 402 and "relaxed" in e.value.message
    assert submit(engine, p, "video_std", req(480, 854, 5), now=NOW + timedelta(minutes=12)).points == 0
    with transaction(engine) as s:
        ledger.capture(s, "video_std")
        ledger.grant(s, p.account_id, 150, currency="points", key="rewards:ada")
    assert (
        submit(engine, p, "video_f11", req(480, 854, 5, lane="fast"), now=NOW + timedelta(minutes=13)).points
        == 100
    )
    with transaction(engine) as s:
        assert ledger.balance(s, p.account_id, "points") == 50


def test_credits_run_out_with_a_message_saying_when_they_renew(engine):
    p = principal(engine, plan="pro")
    with transaction(engine) as s:
        grants.ensure_monthly_grant(s, s.get(ledger.Account, p.account_id), p.plan, NOW.date())
        ledger.grant(s, p.account_id, -9990, key="spent")
    with pytest.raises(InsufficientCredits, match="renew on 2025-07-01"):
        submit(engine, p, "video_1", req(1920, 1080, 10))


def test_usage_is_metered_per_key_and_account(engine):
    p = principal(engine, plan="pro")
    submit(engine, p, "video_1", req(1280, 720, 10))
    with transaction(engine) as s:
        ledger.capture(s, "video_1")
        (row,) = usage(s, key_id=p.key_id)
        assert (row.requests, row.generations, row.seconds, row.credits) == (1, 1, 10.0, 20)
        assert usage(s, account_id=p.account_id, group_by="model")[0].group == "zoetrope-mini"


def _parallel_submits(engine, p, n, r=None):
    barrier = threading.Barrier(n)
    admitted, refused = [], []

    def one(i):
        barrier.wait()
        try:
            submit(engine, p, f"video_p{i}", r)
            admitted.append(i)
        except (QuotaExceeded, InsufficientCredits):
            refused.append(i)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return admitted, refused


@pytest.mark.parametrize("plan,seats,cap", [("plus", 1, 1), ("pro", 1, 5), ("team", 3, 3)])
def test_parallel_submits_never_overshoot_concurrency_on_postgres(pg_engine, plan, seats, cap):
    p = principal(pg_engine, plan=plan, seats=seats)
    admitted, refused = _parallel_submits(pg_engine, p, 12)
    assert len(admitted) == cap and len(refused) == 12 - cap
    with transaction(pg_engine) as s:
        assert ledger.open_charges(s, p.account_id) == cap
        assert ledger.balance(s, p.account_id) == (1000 * seats if plan != "pro" else 10000) - 10 * cap


def test_parallel_submits_never_overspend_credits_on_postgres(pg_engine):
    p = principal(pg_engine, plan="pro")
    with transaction(pg_engine) as s:
        grants.ensure_monthly_grant(s, s.get(ledger.Account, p.account_id), p.plan, NOW.date())
        ledger.grant(s, p.account_id, -9950, key="spent")  # 50 left: two 20-credit jobs fit
    admitted, _ = _parallel_submits(pg_engine, p, 5, req(1280, 720, 10))
    assert len(admitted) == 2
    with transaction(pg_engine) as s:
        assert ledger.balance(s, p.account_id) == 10


def test_parallel_submits_never_overshoot_on_sqlite(sqlite_engine):
    p = principal(sqlite_engine, plan="pro")
    admitted, refused = _parallel_submits(sqlite_engine, p, 8)
    assert len(admitted) == 5 and len(refused) == 3


def test_a_key_restricted_to_an_alias_may_use_the_model_it_names(engine):
    p = principal(engine, plan="pro", allowed_models=["sora-2"])
    submit(engine, p, "video_1", req(model="zoetrope-mini"))  # admission sees the canonical name
    with pytest.raises(PermissionDenied, match="only sora-2, not other"):
        submit(engine, p, "video_2", req(model="other"))


def test_a_key_cannot_be_made_for_a_model_the_server_lacks(engine):
    with transaction(engine) as s:
        acct = create_account(s, "kay", "pro")
        for models, message in (([], "is empty"), (["zoetrope-mini", "veo"], "unknown model 'veo'")):
            with pytest.raises(InvalidRequest, match=message) as e:
                create_key(s, acct.id, "k", allowed_models=models)
            assert e.value.param == "allowed_models"
