"""A job that completes on a later attempt leaves only that attempt's files in the store: what a
worker lost between storing and completing had stored is removed."""

from __future__ import annotations

from importlib import resources

from sqlalchemy import select

from tests.jobs.conftest import engine  # noqa: F401
from zoetrope.backends.registry import Registry
from zoetrope.config import load_config
from zoetrope.db import transaction
from zoetrope.jobs import dispatch, store
from zoetrope.jobs.models import Job
from zoetrope.jobs.worker import Worker
from zoetrope.storage import BlobStore


def test_completing_a_later_attempt_removes_earlier_attempts_files(engine, tmp_path):  # noqa: F811
    config = tmp_path / "zoetrope.toml"
    defaults = resources.files("zoetrope.config").joinpath("defaults.toml").read_text()
    config.write_text(
        defaults + '\n[[models]]\nname = "steady"\nbackend = "tests.scale.steady_backend:SteadyBackend"\n'
    )
    blobs = BlobStore(str(tmp_path / "blobs"))
    with transaction(engine, immediate=True) as s:
        job = Job(account_id="a", model="steady", backend_model="steady", prompt="p", seconds="4")
        job.size, job.params = "64x64", {"native_width": 64, "native_height": 64}
        job.attempts = 1  # the first attempt's worker was lost after storing its files
        jid = store.add_job(s, job).id
    for name in ("video.mp4", "thumbnail.webp", "spritesheet.jpg"):
        blobs.put(f"videos/{jid}/1/{name}", b"first attempt")

    assert Worker(engine, Registry(load_config(config)), blobs, dispatch.DispatchPolicy()).run_once()
    with transaction(engine) as s:
        job = s.scalar(select(Job).where(Job.id == jid))
    assert (job.status, job.attempts) == ("completed", 2), job.error
    stored = sorted(
        p.relative_to(tmp_path / "blobs").as_posix() for p in (tmp_path / "blobs").rglob("*") if p.is_file()
    )
    assert stored == sorted(job.outputs.values()) and all(k.startswith(f"videos/{jid}/2/") for k in stored)
