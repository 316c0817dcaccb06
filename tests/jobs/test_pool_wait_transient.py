"""A worker that waits too long for a database connection (every one of its pool's connections busy,
as on a database that answers slowly) has met the database being away: the job is set back and
run again, not failed as `generation_failed`."""

from __future__ import annotations

import threading
import time
from importlib import resources

from sqlalchemy import create_engine, select

from zoetrope.backends.registry import Registry
from zoetrope.config import load_config
from zoetrope.db import transaction
from zoetrope.jobs import dispatch, store
from zoetrope.jobs.migrate import upgrade
from zoetrope.jobs.models import Job
from zoetrope.jobs.worker import Worker
from zoetrope.storage import BlobStore

POOL_WAIT = 1.0


class _BusyPoolAtLastWrite(BlobStore):
    """Stores blobs; while the last of a job's outputs is written, another thread of the process
    takes the pool's only connection for a while, as a burst of other work would."""

    def __init__(self, url: str, engine) -> None:
        super().__init__(url)
        self.engine, self.held = engine, threading.Event()

    def put(self, key: str, data: bytes) -> None:
        super().put(key, data)
        if key.endswith("spritesheet.jpg") and not self.held.is_set():
            self.held.set()
            taken = threading.Event()

            def hold() -> None:
                with self.engine.connect():
                    taken.set()
                    time.sleep(POOL_WAIT * 1.6)

            threading.Thread(target=hold, daemon=True).start()
            taken.wait(10)


def test_a_pool_that_stays_busy_sets_the_job_back(tmp_path):
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    upgrade(create_engine(url))
    engine = create_engine(url, pool_size=1, max_overflow=0, pool_timeout=POOL_WAIT)
    config = tmp_path / "zoetrope.toml"
    defaults = resources.files("zoetrope.config").joinpath("defaults.toml").read_text()
    config.write_text(
        defaults + '\n[[models]]\nname = "steady"\nbackend = "tests.scale.steady_backend:SteadyBackend"\n'
    )
    with transaction(engine, immediate=True) as s:
        job = Job(account_id="a", model="steady", backend_model="steady", prompt="p", seconds="4")
        job.size, job.params = "64x64", {"native_width": 64, "native_height": 64}
        jid = store.add_job(s, job).id
    blobs = _BusyPoolAtLastWrite(str(tmp_path / "blobs"), engine)
    policy = dispatch.DispatchPolicy(retry_seconds=0.05, retry_max_seconds=0.05)
    worker = Worker(engine, Registry(load_config(config)), blobs, policy)

    assert worker.run_once()
    assert blobs.held.is_set()
    with transaction(engine) as s:
        job = s.scalar(select(Job).where(Job.id == jid))
    assert (job.status, job.attempts, job.error) == ("queued", 0, None)
    time.sleep(0.1)
    assert worker.run_once()
    with transaction(engine) as s:
        job = s.scalar(select(Job).where(Job.id == jid))
    assert (job.status, job.attempts) == ("completed", 1), job.error
    engine.dispose()
