"""Leases are judged by the database's clock: workers whose own clocks run ahead or behind
neither take over live jobs nor keep dead workers' jobs past their lease."""

from __future__ import annotations

import time

from zoetrope.db import transaction
from zoetrope.jobs import dispatch, store
from zoetrope.jobs.models import Job

POLICY = dispatch.DispatchPolicy(lease_seconds=30)
HOUR = 3600.0


def _submit(engine) -> str:
    with transaction(engine, immediate=True) as s:
        job = Job(account_id="acct_a", model="zoetrope-mini", backend_model="zoetrope-mini", prompt="a red ball",
                  seconds="4", size="128x128", max_concurrent=5)  # fmt: skip
        return store.add_job(s, job).id


def _skew(monkeypatch, seconds: float) -> None:
    """This process's clock, as the dispatch code reads it, runs `seconds` off the real time."""
    monkeypatch.setattr(dispatch, "now", lambda: time.time() + seconds)


def _row(engine, jid: str) -> Job:
    with transaction(engine) as s:
        return store.get_job(s, "acct_a", jid)


def test_a_worker_whose_clock_runs_ahead_does_not_take_over_a_live_lease(engine, monkeypatch):
    jid = _submit(engine)
    assert dispatch.claim_next(engine, "w1", POLICY).id == jid
    _skew(monkeypatch, HOUR)
    assert dispatch.release_expired(engine) == []
    assert dispatch.claim_next(engine, "w2", POLICY) is None
    job = _row(engine, jid)
    assert (job.status, job.worker_id) == ("in_progress", "w1")


def test_a_lease_taken_by_a_worker_whose_clock_runs_behind_still_lasts(engine, monkeypatch):
    jid = _submit(engine)
    with monkeypatch.context() as m:
        _skew(m, -HOUR)
        assert dispatch.claim_next(engine, "w1", POLICY).id == jid
        assert dispatch.heartbeat(engine, jid, "w1", POLICY, progress=10)
    # a worker with the right time sees a live lease, not one that ended an hour ago
    assert dispatch.release_expired(engine) == []
    assert dispatch.claim_next(engine, "w2", POLICY) is None
    assert _row(engine, jid).worker_id == "w1"


def test_a_lease_renewed_by_a_worker_whose_clock_runs_ahead_still_expires(engine, monkeypatch):
    jid = _submit(engine)
    short = dispatch.DispatchPolicy(lease_seconds=0.2)
    with monkeypatch.context() as m:
        _skew(m, HOUR)
        assert dispatch.claim_next(engine, "w1", short).id == jid
        assert dispatch.heartbeat(engine, jid, "w1", short)
    time.sleep(0.4)  # the worker stops renewing; its lease must not last the hour its clock is ahead
    assert dispatch.release_expired(engine) == []
    assert dispatch.claim_next(engine, "w2", short).id == jid


def test_backoff_after_a_transient_error_is_timed_by_the_database(engine, monkeypatch):
    jid = _submit(engine)
    backoff = dispatch.DispatchPolicy(lease_seconds=30, retry_seconds=0.5)
    with monkeypatch.context() as m:
        _skew(m, -HOUR)
        assert dispatch.claim_next(engine, "w1", backoff).id == jid
        assert dispatch.retry_later(engine, jid, "w1", backoff, code="service_unavailable", message="away")
    assert dispatch.claim_next(engine, "w2", backoff) is None  # still backing off
    time.sleep(0.7)
    assert dispatch.claim_next(engine, "w2", backoff).id == jid
