"""A job's reservation follows its status: captured when it completes, released when it fails, is
given up on, or is deleted; each once, in the status change's transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from zoetrope.access import ledger
from zoetrope.access.accounts import create_account
from zoetrope.access.entitlements import RequestSummary
from zoetrope.access.models import LedgerEntry
from zoetrope.access.pricing import Charge as Cost
from zoetrope.db import transaction
from zoetrope.jobs import dispatch, store
from zoetrope.jobs.dispatch import DispatchPolicy
from zoetrope.jobs.models import Job

POLICY = DispatchPolicy(lease_seconds=30)


@pytest.fixture()
def held(engine):
    """An account with 100 credits and a queued job holding 5 of them."""
    with transaction(engine, immediate=True) as s:
        account = create_account(s, "payer", plan="pro")
        ledger.grant(s, account.id, 100, key="grant:t")
        job = store.add_job(
            s,
            Job(account_id=account.id, model="m", backend_model="m", prompt="p", seconds="1", size="64x64"),
        )
        summary = RequestSummary(model="m", width=64, height=64, seconds=1)
        ledger.reserve(s, account.id, None, job.id, summary, "fast", Cost(credits=5))
    return engine, account.id, job.id


def _state(engine, account_id: str, job_id: str) -> tuple[str, int, list[str]]:
    with transaction(engine) as s:
        kinds = [e.kind for e in s.scalars(select(LedgerEntry).where(LedgerEntry.job_id == job_id))]
        return ledger.get_charge(s, job_id).status, ledger.balance(s, account_id), sorted(kinds)


def test_completed_job_captures_once(held):
    engine, account_id, job_id = held
    assert dispatch.claim_next(engine, "w1", POLICY).id == job_id
    assert dispatch.complete(engine, job_id, "w1", POLICY, outputs={}, details={})
    assert not dispatch.complete(engine, job_id, "w1", POLICY, outputs={}, details={})
    assert _state(engine, account_id, job_id) == ("captured", 95, ["reserve"])


def test_failed_job_releases_once(held):
    engine, account_id, job_id = held
    dispatch.claim_next(engine, "w1", POLICY)
    assert dispatch.fail(engine, job_id, "w1", code="output_blocked", message="blocked")
    assert not dispatch.fail(engine, job_id, "w1", code="output_blocked", message="blocked")
    assert _state(engine, account_id, job_id) == ("released", 100, ["release", "reserve"])


def test_job_given_up_after_lost_leases_releases(held):
    engine, account_id, job_id = held
    with transaction(engine, immediate=True) as s:
        s.get(Job, s.scalar(select(Job.seq).where(Job.id == job_id))).max_attempts = 1
    dispatch.claim_next(engine, "w1", DispatchPolicy(lease_seconds=-1))
    assert dispatch.release_expired(engine) == [job_id]
    assert _state(engine, account_id, job_id) == ("released", 100, ["release", "reserve"])


def test_deleting_a_running_job_releases_and_it_cannot_complete(held):
    engine, account_id, job_id = held
    dispatch.claim_next(engine, "w1", POLICY)
    with transaction(engine, immediate=True) as s:
        store.delete_job(s, account_id, job_id)
    assert not dispatch.complete(engine, job_id, "w1", POLICY, outputs={}, details={})
    assert _state(engine, account_id, job_id) == ("released", 100, ["release", "reserve"])
