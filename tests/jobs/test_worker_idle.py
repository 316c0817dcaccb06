"""`Worker(idle_compute=True)` (what `zoetrope worker --idle` runs): jobs render on one thread of the
worker's own in the idle scheduling class, while the thread that claims and completes them (and
writes the database) keeps its class. Real SQLite, real render (video, watermark, C2PA)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from importlib import resources

import numpy as np
import pytest
from sqlalchemy import select

from zoetrope.access import ledger
from zoetrope.access.accounts import create_account
from zoetrope.access.entitlements import RequestSummary
from zoetrope.access.pricing import Charge
from zoetrope.backends.base import Capabilities, GenerationRequest, Progress, no_progress
from zoetrope.backends.registry import Registry
from zoetrope.config import load_config
from zoetrope.db import make_engine, transaction
from zoetrope.jobs import store
from zoetrope.jobs.dispatch import DispatchPolicy
from zoetrope.jobs.migrate import upgrade
from zoetrope.jobs.models import Job
from zoetrope.jobs.worker import Worker
from zoetrope.storage import BlobStore

pytestmark = pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="the idle class is Linux's")

SEEN: list[tuple[int, int]] = []  # (thread id, scheduling policy) of each generate call


class PolicyBackend:
    """Grey frames; records which thread generated them and in which scheduling class."""

    name = "policy-test"

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(tasks=("t2v",), sizes=((64, 64),), max_seconds=4, fps=8, default_steps=1)

    def generate(self, request: GenerationRequest, progress: Progress = no_progress) -> Iterator[np.ndarray]:
        SEEN.append((threading.get_native_id(), os.sched_getscheduler(0)))
        progress(1.0, "done")
        yield np.full((8, request.height, request.width, 3), 128, np.uint8)


@pytest.fixture()
def worker(tmp_path):
    config = tmp_path / "zoetrope.toml"
    defaults = resources.files("zoetrope.config").joinpath("defaults.toml").read_text()
    config.write_text(defaults + f'\n[[models]]\nname = "policy-test"\nbackend = "{__name__}:PolicyBackend"\n')
    engine = make_engine(f"sqlite:///{tmp_path / 'jobs.db'}")
    upgrade(engine)
    blobs = BlobStore(str(tmp_path / "blobs"))
    SEEN.clear()
    yield Worker(engine, Registry(load_config(config)), blobs, DispatchPolicy(lease_seconds=30), idle_compute=True)
    engine.dispose()


def _submit(engine, name: str) -> str:
    with transaction(engine, immediate=True) as s:
        account = create_account(s, name, plan="pro")
        job = Job(account_id=account.id, model="policy-test", backend_model="policy-test", prompt="a grey card")
        job.seconds, job.size, job.params = "1", "64x64", {"native_width": 64, "native_height": 64}
        job_id = store.add_job(s, job).id
        ledger.grant(s, account.id, 100, key=f"grant:{name}")
        summary = RequestSummary(model="policy-test", width=64, height=64, seconds=1)
        ledger.reserve(s, account.id, None, job_id, summary, "fast", Charge(credits=5))
    return job_id


def test_jobs_render_on_one_idle_class_thread_and_complete(worker):
    normal = os.sched_getscheduler(0)
    ids = [_submit(worker.engine, "a"), _submit(worker.engine, "b")]
    assert worker.run_once() and worker.run_once()
    with transaction(worker.engine) as s:
        jobs = {j.id: j for j in s.scalars(select(Job).where(Job.id.in_(ids)))}
        assert [jobs[i].status for i in ids] == ["completed", "completed"], [jobs[i].error for i in ids]
        assert [ledger.get_charge(s, i).status for i in ids] == ["captured", "captured"]
    assert worker.blobs.get(jobs[ids[0]].outputs["video"])[4:8] == b"ftyp"
    # Both renders ran on the same thread, not this one, in the idle class ...
    (tid, policy), second = SEEN
    assert second == (tid, policy) and tid != threading.get_native_id()
    assert policy == os.SCHED_IDLE
    # ... and the thread that claimed and completed them is as it was.
    assert os.sched_getscheduler(0) == normal != os.SCHED_IDLE
