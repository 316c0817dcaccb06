"""A gateway (`upstream`) job retried after a worker crash resumes the upstream video the first attempt
created: the upstream makes, and bills, one video per job, however many attempts it takes."""

from __future__ import annotations

import httpx
import numpy as np
import pytest

import zoetrope.backends.upstream as up
from zoetrope.jobs.models import Job
from zoetrope.jobs.render import generation_request
from zoetrope.storage import BlobStore

REAL_CLIENT = httpx.Client


class _Crash(BaseException):
    """The worker process dying mid-poll (nothing of ours handles it)."""


def _idempotent_upstream(monkeypatch) -> dict[str, str]:
    """An OpenAI-compatible Videos API that honours Idempotency-Key, as the upstream's own retries
    rely on; returns its videos by key."""
    from zoetrope.media.encode import encode_mp4

    mp4 = encode_mp4(np.zeros((9, 64, 64, 3), np.uint8), fps=8)
    videos: dict[str, str] = {}

    def handler(req: httpx.Request) -> httpx.Response:
        if req.method == "POST":
            vid = videos.setdefault(req.headers["idempotency-key"], f"up_{len(videos)}")
            return httpx.Response(200, json={"id": vid, "status": "in_progress", "progress": 10})
        if req.url.path.endswith("/content"):
            return httpx.Response(200, content=mp4)
        if req.method == "DELETE":  # a crashed worker never sends it; keep the video
            return httpx.Response(200, json={"deleted": True})
        return httpx.Response(200, json={"id": req.url.path.rsplit("/", 1)[1], "status": "completed"})

    monkeypatch.setattr(
        up.httpx, "Client", lambda **kw: REAL_CLIENT(transport=httpx.MockTransport(handler), **kw)
    )
    return videos


def test_a_retried_gateway_job_creates_one_upstream_video(monkeypatch, tmp_path):
    videos = _idempotent_upstream(monkeypatch)
    backend = up.UpstreamBackend(
        base_url="http://8.8.8.8/v1", api_key="k", sizes=["64x64"], fps=8, poll_interval=0.01, retries=0
    )
    job = Job(
        id="video_gw",
        model="relay",
        backend_model="relay",
        prompt="a cat",
        seconds="1",
        size="64x64",
        task="t2v",
    )
    job.params = {"native_width": 64, "native_height": 64}
    blobs = BlobStore(str(tmp_path))

    def crash(fraction: float, message: str) -> None:
        raise _Crash

    job.attempts = 1
    with pytest.raises(_Crash):
        list(backend.generate(generation_request(job, blobs, 8), crash))
    job.attempts = 2  # another worker, once the lease expired
    frames = np.concatenate(list(backend.generate(generation_request(job, blobs, 8))))
    assert frames.shape == (9, 64, 64, 3)
    assert len(videos) == 1, f"the upstream made {len(videos)} videos for one job: {videos}"
