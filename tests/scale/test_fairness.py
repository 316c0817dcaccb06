"""Fairness under load, through the real claim/complete path (bench/queue_load.py's harness): many jobs
from 10 accounts on mixed plans; the fast lane goes first, no relaxed job waits for the fast lane
to drain (relaxed jobs fill the slots fast accounts cannot use), no account ever runs more jobs
than its plan allows, and every job completes."""

from __future__ import annotations

from sqlalchemy import func, select

from bench.queue_load import run_queue, submit_jobs, summary
from tests.jobs.conftest import engine  # noqa: F401  (the sqlite/postgres store fixture)
from zoetrope.db import transaction
from zoetrope.jobs.dispatch import DispatchPolicy
from zoetrope.jobs.models import Job

JOBS = 150


def test_fast_first_relaxed_not_starved_account_limits_held_all_complete(engine):  # noqa: F811
    policy = DispatchPolicy(starvation_seconds=5.0)
    limits = submit_jobs(engine, JOBS)
    run = run_queue(engine, JOBS, threads=6, work_s=0.01, policy=policy)
    run.limits = limits
    result = summary(run)
    with transaction(engine) as s:
        by_status = dict(s.execute(select(Job.status, func.count()).group_by(Job.status)).all())
        started = s.execute(select(Job.lane, Job.started_at)).all()
    assert by_status == {"completed": JOBS} and run.completed == JOBS
    assert run.samples > 5 and result["concurrency_violations"] == 0, (run.peak_running, limits)
    first = [lane for lane, _ in sorted(started, key=lambda r: r[1])]
    assert first[0] == "fast", result  # the fast lane is claimed first
    # Fast jobs wait less; a relaxed job may take a slot a capped fast account cannot use.
    assert result["fast_wait_p50_s"] <= result["relaxed_wait_p50_s"], result
    fast_last = max(t for lane, t in started if lane == "fast")
    relaxed_first = min(t for lane, t in started if lane == "relaxed")
    # A relaxed job starts while fast jobs are still being claimed: it is not starved by them.
    assert relaxed_first < fast_last, result
