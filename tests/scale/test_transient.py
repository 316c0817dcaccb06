"""Transient failures: a job that hit a storage or database outage (S3 away, a full disk) is queued
again after a backoff and fails with a clear error only once its attempts are spent; the API
answers 503 with Retry-After while the database or the blob store is away."""

from __future__ import annotations

import contextlib
import subprocess
import time
from importlib import resources

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.jobs.conftest import engine  # noqa: F401  (the sqlite/postgres store fixture)
from tests.scale.services import wait_until
from zoetrope.backends.registry import Registry, get_registry
from zoetrope.db import make_engine, transaction
from zoetrope.jobs import dispatch, store
from zoetrope.jobs.migrate import upgrade
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


def test_transient_errors_requeue_without_spending_attempts_then_fail_after_the_window(engine):  # noqa: F811
    policy = dispatch.DispatchPolicy(retry_seconds=0.3, retry_max_seconds=0.3, retry_window_seconds=3.0)
    jid = _submit(engine, max_attempts=2)
    assert dispatch.claim_next(engine, "w1", policy).id == jid
    assert dispatch.retry_later(engine, jid, "w1", policy, code="service_unavailable", message="s3 away")
    with transaction(engine) as s:  # what the client sees meanwhile: waiting to run, not running
        job = s.scalar(select(Job).where(Job.id == jid))
        assert (job.status, job.worker_id, job.progress) == ("queued", None, 0)
    assert dispatch.claim_next(engine, "w2", policy) is None  # still backing off
    assert not dispatch.complete(engine, jid, "w1", policy, outputs={}, details={})  # fenced off
    # An outage outlasts the attempts meant for lost workers: the job keeps being set back.
    for _ in range(3):
        job = wait_until(lambda: dispatch.claim_next(engine, "w2", policy), 5, "the backoff to pass", 0.02)
        assert (job.id, job.attempts) == (jid, 1)
        assert dispatch.retry_later(engine, jid, "w2", policy, code="service_unavailable", message="s3 away")
        with transaction(engine) as s:
            assert s.scalar(select(Job.status).where(Job.id == jid)) == "queued"
    job = wait_until(lambda: dispatch.claim_next(engine, "w2", policy), 5, "the backoff to pass", 0.02)
    time.sleep(3.0)  # an attempt that runs into the outage again after 3 s of work
    assert dispatch.retry_later(engine, jid, "w2", policy, code="service_unavailable", message="s3 away")
    with transaction(engine) as s:
        job = s.scalar(select(Job).where(Job.id == jid))
    assert job.status == "failed" and job.error["code"] == "service_unavailable"
    assert "giving up after 5 tries" in job.error["message"]


def test_time_a_set_back_job_waits_in_the_queue_is_not_counted_as_the_outage(engine):  # noqa: F811
    # Behind a long queue a job set back by one blip may wait past the window before a worker gets to
    # it; a second blip then is its second try, not 15 minutes of failing.
    policy = dispatch.DispatchPolicy(retry_seconds=0.1, retry_max_seconds=0.1, retry_window_seconds=1.0)
    jid = _submit(engine, max_attempts=2)
    assert dispatch.claim_next(engine, "w1", policy).id == jid
    assert dispatch.retry_later(engine, jid, "w1", policy, code="service_unavailable", message="s3 away")
    time.sleep(1.5)  # no worker free for longer than the window
    assert dispatch.claim_next(engine, "w2", policy).id == jid
    assert dispatch.retry_later(engine, jid, "w2", policy, code="service_unavailable", message="s3 away")
    with transaction(engine) as s:
        job = s.scalar(select(Job).where(Job.id == jid))
    assert (job.status, job.error, job.params["unavailable_retries"]) == ("queued", None, 2)
    # An outage that lasts through an attempt does count: the attempt met it again after 1.2 s.
    job = wait_until(lambda: dispatch.claim_next(engine, "w3", policy), 5, "the backoff to pass", 0.02)
    time.sleep(1.2)
    assert dispatch.retry_later(engine, jid, "w3", policy, code="service_unavailable", message="s3 away")
    with transaction(engine) as s:
        job = s.scalar(select(Job).where(Job.id == jid))
    assert job.status == "failed" and "giving up after 3 tries" in job.error["message"], job.error


def test_the_retry_backoff_grows_to_its_cap(engine):  # noqa: F811
    policy = dispatch.DispatchPolicy(retry_seconds=2, retry_max_seconds=60)
    jid = _submit(engine, max_attempts=3)
    waits = []
    for _ in range(8):
        with transaction(engine, immediate=True) as s:  # as a claim leaves it, without waiting out the backoff
            job = s.scalar(select(Job).where(Job.id == jid))
            job.status, job.worker_id, job.attempts = "in_progress", "w", job.attempts + 1
        t = time.time()
        assert dispatch.retry_later(engine, jid, "w", policy, code="service_unavailable", message="away")
        with transaction(engine) as s:
            waits.append(round(s.scalar(select(Job.lease_expires_at).where(Job.id == jid)) - t))
    assert waits == [2, 4, 8, 16, 32, 60, 60, 60]


def test_api_answers_503_with_retry_after_while_the_database_is_away(tmp_path):
    from zoetrope.api import Services, create_app

    dead = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2")
    app = create_app(Services(dead, get_registry(), BlobStore(str(tmp_path)), POLICY))
    with TestClient(app) as c:
        r = c.get("/v1/videos/video_x", headers={"authorization": "Bearer zk-test"})
    assert r.status_code == 503 and int(r.headers["retry-after"]) >= 1
    assert r.json()["error"]["code"] == "service_unavailable"


def test_content_download_answers_503_with_retry_after_while_storage_is_away(tmp_path, monkeypatch):
    from zoetrope.access.accounts import create_account
    from zoetrope.access.keys import create_key
    from zoetrope.api import Services, create_app

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    db = make_engine(f"sqlite:///{tmp_path / 'z.db'}")
    upgrade(db)
    with transaction(db, immediate=True) as s:
        account = create_account(s, "a", plan="pro")
        token = create_key(s, account.id)[1]
        job = Job(account_id=account.id, model="zoetrope-mini", backend_model="zoetrope-mini", seconds="4")
        job.size, job.status, job.outputs = "64x64", "completed", {"video": "videos/v/1/video.mp4"}
        jid = store.add_job(s, job).id
    away = BlobStore("s3://zoetrope/blobs", s3_endpoint_url="http://127.0.0.1:1")  # nothing listens
    app = create_app(Services(db, get_registry(), away, POLICY))
    with TestClient(app) as c:
        r = c.get(f"/v1/videos/{jid}/content", headers={"authorization": f"Bearer {token}"})
    assert r.status_code == 503 and int(r.headers["retry-after"]) >= 1, r.text
    assert r.json()["error"]["code"] == "service_unavailable"


@pytest.fixture()
def small_disk(tmp_path):
    """A 256 KiB tmpfs for the blob store (mounting needs root)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_sets_the_job_back_and_it_completes_once_space_is_freed(engine, small_disk):  # noqa: F811
    from zoetrope.access import ledger
    from zoetrope.access.accounts import create_account
    from zoetrope.access.entitlements import RequestSummary
    from zoetrope.access.pricing import Charge
    from zoetrope.config import load_config
    from zoetrope.jobs.worker import Worker

    config = small_disk.parent / "zoetrope.toml"
    defaults = resources.files("zoetrope.config").joinpath("defaults.toml").read_text()
    config.write_text(
        defaults + '\n[[models]]\nname = "steady"\nbackend = "tests.scale.steady_backend:SteadyBackend"\n'
    )
    blobs = BlobStore(str(small_disk / "blobs"))
    worker = Worker(engine, Registry(load_config(config)), blobs, POLICY)
    with transaction(engine, immediate=True) as s:
        account = create_account(s, "full", plan="pro")
        job = Job(account_id=account.id, model="steady", backend_model="steady", prompt="p", seconds="4")
        job.size, job.params = "64x64", {"native_width": 64, "native_height": 64}
        jid = store.add_job(s, job).id
        ledger.grant(s, account.id, 100, key="grant:test")
        summary = RequestSummary(model="steady", width=64, height=64, seconds=4)
        ledger.reserve(s, account.id, None, jid, summary, "fast", Charge(credits=3))
    ballast = small_disk / "ballast"
    with contextlib.suppress(OSError), ballast.open("wb") as f:  # fill the disk
        while True:
            f.write(bytes(4096))
            f.flush()

    assert worker.run_once()
    with transaction(engine) as s:
        job = s.scalar(select(Job).where(Job.id == jid))
    # Set back, not failed, and the attempt given back (attempts count lost workers, not outages).
    assert (job.status, job.worker_id, job.attempts) == ("queued", None, 0)
    assert not [p for p in (small_disk / "blobs").rglob("*") if p.is_file()]  # no partial file left

    ballast.unlink()
    wait_until(worker.run_once, 60, "the job to be claimed again after its backoff")
    with transaction(engine) as s:
        job = s.scalar(select(Job).where(Job.id == jid))
    assert (job.status, job.attempts) == ("completed", 1), job.error
    assert blobs.get(job.outputs["video"])[4:8] == b"ftyp"
    with transaction(engine) as s:
        assert ledger.get_charge(s, jid).status == "captured" and ledger.balance(s, account.id) == 97


class _ReadOnlyBlobs(BlobStore):
    """A blob store on a disk mounted read-only: every write fails as the OS says, naming the file."""

    def put(self, key: str, data: bytes) -> None:
        import errno

        raise OSError(errno.EROFS, "Read-only file system", f"/srv/zoetrope-private/blobs/{key}")


def test_a_storage_failure_tells_the_client_why_without_the_servers_paths(engine, tmp_path):  # noqa: F811
    from zoetrope.config import load_config
    from zoetrope.jobs.worker import Worker

    config = tmp_path / "zoetrope.toml"
    defaults = resources.files("zoetrope.config").joinpath("defaults.toml").read_text()
    config.write_text(
        defaults + '\n[[models]]\nname = "steady"\nbackend = "tests.scale.steady_backend:SteadyBackend"\n'
    )
    policy = dispatch.DispatchPolicy(retry_window_seconds=0)  # fail at the first error
    worker = Worker(engine, Registry(load_config(config)), _ReadOnlyBlobs(str(tmp_path / "blobs")), policy)
    with transaction(engine, immediate=True) as s:
        job = Job(
            account_id="a", model="steady", backend_model="steady", prompt="p", seconds="4", max_attempts=1
        )
        job.size, job.params = "64x64", {"native_width": 64, "native_height": 64}
        jid = store.add_job(s, job).id
    assert worker.run_once()
    with transaction(engine) as s:
        job = s.scalar(select(Job).where(Job.id == jid))
    assert job.status == "failed" and job.error["code"] == "service_unavailable"
    assert "Read-only file system" in job.error["message"] and "/srv" not in job.error["message"], job.error


def test_a_database_or_object_store_error_is_named_without_its_statement_or_endpoint():
    from sqlalchemy.exc import IntegrityError

    from zoetrope.jobs.worker import _reason

    error = IntegrityError("INSERT INTO jobs (id, prompt) VALUES (?, ?)", ("video_1", "a secret prompt"), Exception())
    assert _reason(error) == "IntegrityError"
    assert _reason(ValueError("steps must be positive")) == "ValueError: steps must be positive"
