"""While S3 is away (the loopback relay cut): a DELETE answers 503 and keeps the video, so its retry
removes the video and its files; clients read that storage is away, never its endpoint or keys."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import free_port
from tests.scale.services import LoopbackS3
from zoetrope.backends.registry import get_registry
from zoetrope.db import make_engine, transaction
from zoetrope.jobs import dispatch, store
from zoetrope.jobs.migrate import upgrade
from zoetrope.jobs.models import Job
from zoetrope.storage import BlobStore


@pytest.fixture()
def s3(monkeypatch):
    for name, value in LoopbackS3.credentials.items():
        monkeypatch.setenv(name, value)
    server = LoopbackS3(free_port())
    server.start()
    server.client().create_bucket(Bucket=server.bucket)
    yield server
    server.shutdown()


def test_delete_during_an_s3_outage_is_retried_until_the_files_are_gone(s3, tmp_path):
    from zoetrope.access.accounts import create_account
    from zoetrope.access.keys import create_key
    from zoetrope.api import Services, create_app

    db = make_engine(f"sqlite:///{tmp_path / 'z.db'}")
    upgrade(db)
    blobs = BlobStore(f"s3://{s3.bucket}/zoetrope", s3_endpoint_url=s3.endpoint)
    with transaction(db, immediate=True) as s:
        account = create_account(s, "a", plan="pro")
        token = create_key(s, account.id)[1]
        job = Job(account_id=account.id, model="zoetrope-mini", backend_model="zoetrope-mini", seconds="4")
        job.size, job.status = "64x64", "completed"
        jid = store.add_job(s, job).id
        job.outputs = {"video": f"videos/{jid}/1/video.mp4"}
    blobs.put(f"videos/{jid}/1/video.mp4", b"mp4")
    blobs.put(f"inputs/{jid}/source.png", b"png")
    headers = {"authorization": f"Bearer {token}"}
    app = create_app(Services(db, get_registry(), blobs, dispatch.DispatchPolicy()))
    with TestClient(app) as c:
        s3.stop()
        refused = [
            c.delete(f"/v1/videos/{jid}", headers=headers),
            c.get(f"/v1/videos/{jid}/content", headers=headers),
        ]
        for r in refused:
            assert r.status_code == 503 and int(r.headers["retry-after"]) >= 1, r.text
            assert r.json()["error"]["code"] == "service_unavailable"
            for detail in ("127.0.0.1", str(s3.port), s3.bucket, "videos/", "Endpoint"):
                assert detail not in r.text, r.text
        assert c.get(f"/v1/videos/{jid}", headers=headers).status_code == 200  # kept, to delete again

        s3.start()
        assert c.delete(f"/v1/videos/{jid}", headers=headers).status_code == 200
        assert c.get(f"/v1/videos/{jid}", headers=headers).status_code == 404
    assert s3.keys(f"zoetrope/videos/{jid}") == [] and s3.keys(f"zoetrope/inputs/{jid}") == []
