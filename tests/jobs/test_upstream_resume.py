"""A gateway (`upstream`) job whose worker dies mid-job resumes the upstream video its first attempt
made, even from an upstream that ignores Idempotency-Key: the video's id is kept with the job."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from tests.loopback_upstream import Handler, LoopbackUpstream, allow_loopback
from zoetrope.backends.upstream import UpstreamBackend
from zoetrope.db import transaction
from zoetrope.jobs import dispatch, store
from zoetrope.jobs.models import Job
from zoetrope.jobs.worker import Worker
from zoetrope.storage import BlobStore

LEASE = dispatch.DispatchPolicy(lease_seconds=0.3)


class _Crash(BaseException):
    """The worker process dying mid-poll (nothing of ours handles it)."""


class FakeUpstream(LoopbackUpstream):
    """An OpenAI-compatible Videos API on loopback that makes a new video for every POST (it knows
    nothing of Idempotency-Key) and finishes a video once `finish` is set."""

    def __init__(self) -> None:
        from zoetrope.media.encode import encode_mp4

        self.mp4 = encode_mp4(np.zeros((9, 64, 64, 3), np.uint8), fps=8)
        self.created: list[str] = []
        self.polled: list[str] = []
        self.finish = threading.Event()
        upstream = self

        class Answers(Handler):
            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers["content-length"]))
                upstream.created.append(f"up_{len(upstream.created)}")
                self.send_json({"id": upstream.created[-1], "status": "queued", "progress": 0})

            def do_GET(self) -> None:  # noqa: N802
                video_id = self.path.split("/")[3]
                if video_id not in upstream.created:
                    return self.send_json({"error": {"message": "no such video"}}, 404)
                if self.path.endswith("/content"):
                    return self.send_json(upstream.mp4)
                upstream.polled.append(video_id)
                done = upstream.finish.is_set()
                self.send_json({"id": video_id, "status": "completed" if done else "in_progress", "progress": 50})

            def do_DELETE(self) -> None:  # noqa: N802
                self.send_json({"deleted": True})  # a killed worker never sends it; keep the video

        super().__init__(Answers)


@pytest.fixture
def upstream(monkeypatch):
    allow_loopback(monkeypatch)
    fake = FakeUpstream()
    yield fake
    fake.close()


def _gateway_job(engine) -> str:
    with transaction(engine, immediate=True) as s:
        job = Job(account_id="acct_a", model="relay", backend_model="relay", prompt="a cat", seconds="1",
                  size="64x64", params={"native_width": 64, "native_height": 64})  # fmt: skip
        return store.add_job(s, job).id


def test_a_gateway_job_retried_after_a_worker_dies_polls_the_first_upstream_video(engine, upstream, tmp_path):
    backend = UpstreamBackend(base_url=upstream.base_url, api_key="k", sizes=["64x64"], fps=8,
                              poll_interval=0.02, retries=0)  # fmt: skip
    blobs = BlobStore(str(tmp_path / "blobs"))
    jid = _gateway_job(engine)

    # rendering in the idle class, as `zoetrope worker --idle` does: the note is written off that thread
    first = Worker(engine, None, blobs, LEASE, worker_id="w1", models=["relay"], idle_compute=True)
    job = dispatch.claim_next(engine, "w1", LEASE)

    def die_while_polling(fraction: float, message: str) -> None:
        if upstream.polled:
            raise _Crash

    with pytest.raises(_Crash):
        first._render(job, backend, die_while_polling)
    assert upstream.created == ["up_0"]

    second = Worker(engine, None, blobs, LEASE, worker_id="w2", models=["relay"])
    deadline = time.monotonic() + 30
    while True:  # w1's lease runs out (by the database's clock, however busy this machine); w2 takes the job
        time.sleep(0.4)
        assert dispatch.release_expired(engine) == []
        job = dispatch.claim_next(engine, "w2", LEASE)
        if job is not None or time.monotonic() > deadline:
            break
    assert (job.id, job.attempts) == (jid, 2)
    upstream.finish.set()
    outputs, details = second._render(job, backend, lambda fraction, message="": None)
    assert upstream.created == ["up_0"], f"the upstream made {len(upstream.created)} videos for one job"
    assert upstream.polled[-1] == "up_0" and details["frames"] == "9" and blobs.get(outputs["video"])
    assert dispatch.complete(engine, jid, "w2", LEASE, outputs=outputs, details=details)


def test_a_gateway_job_whose_upstream_video_is_gone_makes_a_new_one(engine, upstream, tmp_path):
    backend = UpstreamBackend(base_url=upstream.base_url, api_key="k", sizes=["64x64"], fps=8,
                              poll_interval=0.02, retries=0)  # fmt: skip
    blobs = BlobStore(str(tmp_path / "blobs"))
    jid = _gateway_job(engine)
    job = dispatch.claim_next(engine, "w1", LEASE)
    assert dispatch.note(engine, jid, "w1", "upstream_video_id", "up_forgotten")
    with transaction(engine) as s:
        job = store.get_job(s, "acct_a", jid)
    upstream.finish.set()
    outputs, _ = Worker(engine, None, blobs, LEASE, worker_id="w1", models=["relay"])._render(
        job, backend, lambda fraction, message="": None
    )
    assert upstream.created == ["up_0"] and blobs.get(outputs["video"])
    with transaction(engine) as s:
        assert store.get_job(s, "acct_a", jid).params["resume"] == {"upstream_video_id": "up_0"}
