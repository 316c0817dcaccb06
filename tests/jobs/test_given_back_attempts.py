"""A job a stopping worker gave back to the queue (`zoetrope worker` past its stop grace, or told
twice) was not lost: those hand-overs spend none of `ZOETROPE_MAX_ATTEMPTS`, which count workers
that stopped responding, so a job that lived through a few rolling restarts still outlives a crash."""

from __future__ import annotations

from sqlalchemy import select, update

from tests.jobs.conftest import engine  # noqa: F401
from zoetrope.db import transaction
from zoetrope.jobs import dispatch, store
from zoetrope.jobs.models import Job
from zoetrope.jobs.worker import give_back

POLICY = dispatch.DispatchPolicy(lease_seconds=30)


def _expire(engine, jid: str) -> None:  # noqa: F811
    with transaction(engine, immediate=True) as s:
        s.execute(update(Job).where(Job.id == jid).values(lease_expires_at=0.0))


def test_jobs_given_back_at_stops_keep_their_attempts_for_lost_workers(engine):  # noqa: F811
    with transaction(engine, immediate=True) as s:
        job = Job(account_id="a", model="m", backend_model="m", prompt="p", seconds="4", size="64x64",
                  max_attempts=2)
        jid = store.add_job(s, job).id
    for restart in range(3):  # three rolling restarts, each past the stop grace
        assert dispatch.claim_next(engine, f"node{restart}-0", POLICY).id == jid
        assert give_back(engine, f"node{restart}") == [jid]
    assert dispatch.claim_next(engine, "node3-0", POLICY).id == jid
    _expire(engine, jid)  # this worker is SIGKILLed: the first worker lost
    assert dispatch.release_expired(engine) == []
    with transaction(engine) as s:
        assert s.scalar(select(Job.status).where(Job.id == jid)) == "queued"
    assert dispatch.claim_next(engine, "node4-0", POLICY).id == jid
    _expire(engine, jid)  # and the second: now its attempts are spent
    assert dispatch.release_expired(engine) == [jid]
    with transaction(engine) as s:
        job = s.scalar(select(Job).where(Job.id == jid))
    assert job.status == "failed" and job.error["code"] == "worker_lost"
    assert "stopped responding 2 times" in job.error["message"], job.error
