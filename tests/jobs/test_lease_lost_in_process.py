"""A worker thread that lost its lease (the database away past the lease, a stalled process) stops
its render; another worker thread of the same process that takes the job over runs it to the end:
the first one's stop is not the second's, and neither is told the video was deleted."""

from __future__ import annotations

from importlib import resources

from sqlalchemy import select, update

from tests.jobs.conftest import engine  # noqa: F401
from tests.scale.services import wait_until
from zoetrope.backends.registry import Registry
from zoetrope.config import load_config
from zoetrope.db import transaction
from zoetrope.jobs import dispatch, store
from zoetrope.jobs.models import Job
from zoetrope.jobs.worker import Worker, _Lease, signal_cancel


def test_a_job_taken_over_by_another_thread_of_the_process_completes(engine, tmp_path):  # noqa: F811
    from zoetrope.storage import BlobStore

    config = tmp_path / "zoetrope.toml"
    defaults = resources.files("zoetrope.config").joinpath("defaults.toml").read_text()
    config.write_text(
        defaults + '\n[[models]]\nname = "steady"\nbackend = "tests.scale.steady_backend:SteadyBackend"\n'
    )
    policy = dispatch.DispatchPolicy(lease_seconds=3)
    with transaction(engine, immediate=True) as s:
        job = Job(account_id="a", model="steady", backend_model="steady", prompt="p", seconds="4")
        job.size, job.params = "64x64", {"native_width": 64, "native_height": 64}
        jid = store.add_job(s, job).id

    # Thread A of this process claims the job; its lease then runs out (its heartbeats could not
    # reach the database) and the job goes back to the queue.
    first = dispatch.claim_next(engine, "host:1:a-0", policy)
    lost = _Lease(engine, first, "host:1:a-0", policy)
    try:
        with transaction(engine, immediate=True) as s:
            s.execute(update(Job).where(Job.id == jid).values(lease_expires_at=0.0))
        dispatch.release_expired(engine)
        wait_until(lost.cancelled.is_set, 10, "the lost lease's heartbeat to stop its render")

        # Thread B of the same process takes the job over while A's render has yet to stop.
        blobs = BlobStore(str(tmp_path / "blobs"))
        taker = Worker(engine, Registry(load_config(config)), blobs, policy, worker_id="host:1:a-1")
        assert taker.run_once()
    finally:
        lost.close()
    with transaction(engine) as s:
        job = s.scalar(select(Job).where(Job.id == jid))
    assert (job.status, job.worker_id, job.attempts) == ("completed", "host:1:a-1", 2), job.error
    signal_cancel(jid)  # a delete after the end finds nothing running
