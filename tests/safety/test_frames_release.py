"""A job on a backend that can depict people: when the people check blocks its frames the job fails
with output_blocked, keeps no file and releases its credits; the same frames under a prompt that
makes them harmless complete. The detector's verdict is stood in for; the rest is real."""

from __future__ import annotations

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
from zoetrope.safety import frames
from zoetrope.safety.people import Detection
from zoetrope.storage import BlobStore


class PeopleBackend:
    """A backend that declares it can depict people; its frames are plain grey."""

    name = "people-test"

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            tasks=("t2v",), sizes=((64, 64),), max_seconds=4, fps=8, default_steps=1, depicts_people=True
        )

    def generate(self, request: GenerationRequest, progress: Progress = no_progress) -> Iterator[np.ndarray]:
        progress(1.0, "done")
        yield np.full((8, request.height, request.width, 3), 128, np.uint8)


class _SeesFaintExposure:
    """Stands in for the detector: a face and a faint exposed part in every frame."""

    def detect(self, frames):
        return [[Detection("FACE_FEMALE", 0.9), Detection("BUTTOCKS_EXPOSED", 0.35)] for _ in frames]


@pytest.fixture()
def platform(tmp_path, monkeypatch):
    """A migrated SQLite database, a blob store, and a worker for the people-test model."""
    monkeypatch.setattr(frames, "default_detector", lambda: _SeesFaintExposure())
    config = tmp_path / "zoetrope.toml"
    defaults = resources.files("zoetrope.config").joinpath("defaults.toml").read_text()
    config.write_text(
        defaults + f'\n[[models]]\nname = "people-test"\nbackend = "{__name__}:PeopleBackend"\n'
    )
    engine = make_engine(f"sqlite:///{tmp_path / 'jobs.db'}")
    upgrade(engine)
    blobs = BlobStore(str(tmp_path / "blobs"))
    worker = Worker(engine, Registry(load_config(config)), blobs, DispatchPolicy(lease_seconds=30))
    yield engine, blobs, worker, tmp_path / "blobs"
    engine.dispose()


def _submit(engine, prompt: str) -> tuple[str, str]:
    with transaction(engine, immediate=True) as s:
        account = create_account(s, "viewer", plan="pro")
        job = Job(account_id=account.id, model="people-test", backend_model="people-test", prompt=prompt)
        job.seconds, job.size, job.params = "1", "64x64", {"native_width": 64, "native_height": 64}
        job_id = store.add_job(s, job).id
        ledger.grant(s, account.id, 100, key="grant:test")
        summary = RequestSummary(model="people-test", width=64, height=64, seconds=1)
        ledger.reserve(s, account.id, None, job_id, summary, "fast", Charge(credits=5))
    return account.id, job_id


def _outcome(engine, account_id: str, job_id: str) -> tuple[Job, str, int]:
    with transaction(engine) as s:
        job = s.scalar(select(Job).where(Job.id == job_id))
        return job, ledger.get_charge(s, job_id).status, ledger.balance(s, account_id)


def test_blocked_people_frames_fail_the_job_keep_no_file_and_release_credits(platform):
    engine, blobs, worker, blob_dir = platform
    account_id, job_id = _submit(engine, "a kid flying a kite on a hill")
    assert worker.run_once()
    job, charge, balance = _outcome(engine, account_id, job_id)
    assert job.status == "failed" and job.error["code"] == "output_blocked"
    assert "sexual/minors" in job.error["message"]
    assert not [p for p in blob_dir.rglob("*") if p.is_file()]
    assert (charge, balance) == ("released", 100)


def test_the_same_frames_under_a_prompt_about_adults_complete(platform):
    engine, blobs, worker, _ = platform
    account_id, job_id = _submit(engine, "a woman flying a kite on a hill")
    assert worker.run_once()
    job, charge, balance = _outcome(engine, account_id, job_id)
    assert job.status == "completed", job.error
    assert blobs.get(job.outputs["video"])[4:8] == b"ftyp"
    assert (charge, balance) == ("captured", 95)
