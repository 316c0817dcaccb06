"""An S3 bucket that is not there is the store's configuration, not a missing video: `serve` and
`worker` name the bucket at start, and a job that meets it later (the bucket removed under a running
deployment) is set back and completes once the bucket is back, rather than failing as `not_found`
with the object's key."""

from __future__ import annotations

import uuid
from importlib import resources

import pytest
from sqlalchemy import select

from tests.api.conftest import free_port
from tests.scale.services import LoopbackS3, wait_until
from zoetrope.backends.registry import Registry
from zoetrope.config import load_config
from zoetrope.db import make_engine, transaction
from zoetrope.errors import ConfigError, StorageUnavailable
from zoetrope.jobs import dispatch, store
from zoetrope.jobs.migrate import upgrade
from zoetrope.jobs.models import Job
from zoetrope.jobs.worker import Worker
from zoetrope.storage import BlobStore, checked_blob_store


@pytest.fixture()
def s3(monkeypatch):
    for name, value in LoopbackS3.credentials.items():
        monkeypatch.setenv(name, value)
    server = LoopbackS3(free_port())
    # moto keeps its buckets in the process: a name of this test's own is one no other test made.
    server.bucket = f"zoetrope-missing-{uuid.uuid4().hex[:12]}"
    server.start()
    yield server
    server.shutdown()


def test_the_start_check_names_the_missing_bucket(s3):
    with pytest.raises(ConfigError) as raised:
        checked_blob_store("s3://not-made-yet/zoetrope", s3.endpoint)
    assert raised.value.param == "ZOETROPE_BLOB_URL"
    assert "bucket 'not-made-yet' does not exist; create it" in raised.value.message
    assert ".probe" not in raised.value.message


def test_a_job_meeting_a_removed_bucket_is_set_back_and_completes_once_it_is_back(s3, tmp_path):
    config = tmp_path / "zoetrope.toml"
    defaults = resources.files("zoetrope.config").joinpath("defaults.toml").read_text()
    config.write_text(
        defaults + '\n[[models]]\nname = "steady"\nbackend = "tests.scale.steady_backend:SteadyBackend"\n'
    )
    engine = make_engine(f"sqlite:///{tmp_path / 'jobs.db'}")
    upgrade(engine)
    blobs = BlobStore(f"s3://{s3.bucket}/zoetrope", s3_endpoint_url=s3.endpoint)
    policy = dispatch.DispatchPolicy(retry_seconds=0.05, retry_max_seconds=0.05)
    worker = Worker(engine, Registry(load_config(config)), blobs, policy)
    with transaction(engine, immediate=True) as s:
        job = Job(account_id="a", model="steady", backend_model="steady", prompt="p", seconds="4", max_attempts=1)
        job.size, job.params = "64x64", {"native_width": 64, "native_height": 64}
        jid = store.add_job(s, job).id

    with pytest.raises(StorageUnavailable):  # a download meanwhile: 503 with Retry-After, not 404
        blobs.get(f"videos/{jid}/1/video.mp4")
    assert worker.run_once()
    with transaction(engine) as s:
        job = s.scalar(select(Job).where(Job.id == jid))
    assert (job.status, job.attempts) == ("queued", 0), job.error

    s3.client().create_bucket(Bucket=s3.bucket)
    wait_until(worker.run_once, 60, "the job to be claimed again after its backoff")
    with transaction(engine) as s:
        job = s.scalar(select(Job).where(Job.id == jid))
    assert job.status == "completed", job.error
    assert blobs.get(job.outputs["video"])[4:8] == b"ftyp"
    engine.dispose()
