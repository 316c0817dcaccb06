"""Transient failures: a job that hit a storage or database outage is queued again after a backoff
and fails with a clear error only once its attempts are spent; the API answers 503 with
Retry-After while the database is away."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.jobs.conftest import engine  # noqa: F401  (the sqlite/postgres store fixture)
from zoetrope.backends.registry import get_registry
from zoetrope.db import make_engine, transaction
from zoetrope.jobs import dispatch, store
from zoetrope.jobs.models import Job
from zoetrope.storage import BlobStore

POLICY = dispatch.DispatchPolicy(lease_seconds=30, retry_seconds=0.05)


def _submit(engine, max_attempts: int) -> str:  # noqa: F811
    with transaction(engine, immediate=True) as s:
        job = Job(
            account_id="a",
            model="zoetrope-mini",
            backend_model="zoetrope-mini",
            prompt="p",
            seconds="4",
            size="64x64",
            max_attempts=max_attempts,
        )
        return store.add_job(s, job).id


def test_transient_error_requeues_after_backoff_then_fails_when_attempts_are_spent(engine):  # noqa: F811
    jid = _submit(engine, max_attempts=2)
    assert dispatch.claim_next(engine, "w1", POLICY).id == jid
    assert dispatch.retry_later(engine, jid, "w1", POLICY, code="service_unavailable", message="s3 away")
    assert dispatch.claim_next(engine, "w2", POLICY) is None  # still backing off
    assert not dispatch.complete(engine, jid, "w1", POLICY, outputs={}, details={})  # fenced off
    time.sleep(0.1)
    dispatch.release_expired(engine)
    job = dispatch.claim_next(engine, "w2", POLICY)
    assert (job.id, job.attempts) == (jid, 2)
    assert dispatch.retry_later(engine, jid, "w2", POLICY, code="service_unavailable", message="s3 away")
    with transaction(engine) as s:
        job = s.scalar(select(Job).where(Job.id == jid))
    assert job.status == "failed" and job.error["code"] == "service_unavailable"
    assert "giving up after 2 attempts" in job.error["message"]


def test_api_answers_503_with_retry_after_while_the_database_is_away(tmp_path):
    from zoetrope.api import Services, create_app

    dead = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2")
    app = create_app(Services(dead, get_registry(), BlobStore(str(tmp_path)), POLICY))
    with TestClient(app) as c:
        r = c.get("/v1/videos/video_x", headers={"authorization": "Bearer zk-test"})
    assert r.status_code == 503 and int(r.headers["retry-after"]) >= 1
    assert r.json()["error"]["code"] == "service_unavailable"
