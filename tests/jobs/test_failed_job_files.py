"""A video that fails for good keeps no files in the store: not its video, thumbnail or spritesheet
of any attempt, nor anything half-written; whether it failed after its retry window for an
unavailable store was used up, with generation_failed after its video was uploaded, or because its
workers were lost too many times."""

from __future__ import annotations

import errno
from importlib import resources

from sqlalchemy import select

from tests.jobs.conftest import engine  # noqa: F401
from zoetrope.backends.registry import Registry
from zoetrope.config import load_config
from zoetrope.db import transaction
from zoetrope.jobs import dispatch, store
from zoetrope.jobs.models import IN_PROGRESS, Job
from zoetrope.jobs.worker import Worker
from zoetrope.storage import BlobStore


class _RefusingStore(BlobStore):
    """A local store that refuses to write one of a job's files (the others are written)."""

    def __init__(self, root: str, refused: str, error: Exception) -> None:
        super().__init__(root)
        self.refused, self.error = refused, error

    def put(self, key: str, data: bytes) -> None:
        if key.endswith(self.refused):
            path = f"{self.root}/{key}.part"  # the store got as far as a partial file
            self.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
            self.fs.pipe_file(path, data[: len(data) // 2])
            raise self.error
        super().put(key, data)


def _registry(tmp_path) -> Registry:
    config = tmp_path / "zoetrope.toml"
    defaults = resources.files("zoetrope.config").joinpath("defaults.toml").read_text()
    config.write_text(
        defaults + '\n[[models]]\nname = "steady"\nbackend = "tests.scale.steady_backend:SteadyBackend"\n'
    )
    return Registry(load_config(config))


def _queue(engine, blobs: BlobStore, *, earlier_attempts: int = 1) -> str:  # noqa: F811
    with transaction(engine, immediate=True) as s:
        job = Job(account_id="a", model="steady", backend_model="steady", prompt="p", seconds="4")
        job.size, job.params = "64x64", {"native_width": 64, "native_height": 64}
        job.attempts = earlier_attempts  # a worker was lost after storing its files
        jid = store.add_job(s, job).id
    seed = BlobStore(blobs.root)
    for attempt in range(1, earlier_attempts + 1):
        for name in ("video.mp4", "thumbnail.webp", "spritesheet.jpg"):
            seed.put(f"videos/{jid}/{attempt}/{name}", b"an earlier attempt")
    return jid


def _stored(tmp_path) -> list[str]:
    root = tmp_path / "blobs"
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def _job(engine, jid: str) -> Job:  # noqa: F811
    with transaction(engine) as s:
        return s.scalar(select(Job).where(Job.id == jid))


def test_a_job_whose_retry_window_is_used_up_keeps_no_files(engine, tmp_path):  # noqa: F811
    full = OSError(errno.ENOSPC, "No space left on device")
    blobs = _RefusingStore(str(tmp_path / "blobs"), "spritesheet.jpg", full)  # after the video and thumbnail
    jid = _queue(engine, blobs)
    policy = dispatch.DispatchPolicy(retry_window_seconds=0)  # the first transient error is the last
    assert Worker(engine, _registry(tmp_path), blobs, policy).run_once()
    job = _job(engine, jid)
    assert (job.status, job.error["code"]) == ("failed", "service_unavailable"), job.error
    assert _stored(tmp_path) == []


def test_a_job_that_fails_after_its_video_was_uploaded_keeps_no_files(engine, tmp_path):  # noqa: F811
    blobs = _RefusingStore(str(tmp_path / "blobs"), "thumbnail.webp", ValueError("unexpected answer"))
    jid = _queue(engine, blobs)
    assert Worker(engine, _registry(tmp_path), blobs, dispatch.DispatchPolicy()).run_once()
    job = _job(engine, jid)
    assert (job.status, job.error["code"]) == ("failed", "generation_failed"), job.error
    assert _stored(tmp_path) == []


def test_a_job_whose_workers_were_lost_too_often_keeps_no_files(engine, tmp_path):  # noqa: F811
    blobs = BlobStore(str(tmp_path / "blobs"))
    jid = _queue(engine, blobs, earlier_attempts=3)
    with transaction(engine, immediate=True) as s:
        job = s.scalar(select(Job).where(Job.id == jid))
        job.status, job.worker_id, job.lease_expires_at, job.max_attempts = IN_PROGRESS, "lost", 1.0, 3
    assert not Worker(engine, _registry(tmp_path), blobs, dispatch.DispatchPolicy()).run_once()
    job = _job(engine, jid)
    assert (job.status, job.error["code"]) == ("failed", "worker_lost"), job.error
    assert _stored(tmp_path) == []


def test_a_job_queued_again_after_a_transient_error_keeps_its_earlier_files(engine, tmp_path):  # noqa: F811
    full = OSError(errno.ENOSPC, "No space left on device")
    blobs = _RefusingStore(str(tmp_path / "blobs"), "spritesheet.jpg", full)
    jid = _queue(engine, blobs)
    assert Worker(engine, _registry(tmp_path), blobs, dispatch.DispatchPolicy()).run_once()
    assert _job(engine, jid).status == "queued"  # not failed: nothing is removed for it
    assert [k for k in _stored(tmp_path) if k.startswith(f"videos/{jid}/1/")]
