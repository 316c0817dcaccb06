"""An upstream's Retry-After never keeps a job waiting past the model's timeout (the job fails at once,
saying what the upstream asked and which setting to raise), and deleting the job ends such a wait at once:
the worker stops, the job is cancelled and the upstream's video is deleted."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from tests.jobs.conftest import engine  # noqa: F401
from tests.loopback_upstream import Handler, LoopbackUpstream, allow_loopback
from zoetrope.backends.base import GenerationRequest
from zoetrope.backends.upstream import UpstreamBackend
from zoetrope.db import transaction
from zoetrope.errors import ModelUnavailable
from zoetrope.jobs import dispatch, store
from zoetrope.jobs.models import Job
from zoetrope.jobs.worker import Worker, signal_cancel
from zoetrope.storage import BlobStore

ASKED = 50  # seconds of Retry-After: far longer than the jobs here may take


class BusyUpstream(LoopbackUpstream):
    """A Videos API on loopback that creates video up_1 (unless `busy_on` is "POST") and answers every
    `busy_on` request with 429 and Retry-After: ASKED."""

    def __init__(self, busy_on: str) -> None:
        self.busy_answered = threading.Event()
        self.deleted: list[str] = []
        upstream = self

        class Answers(Handler):
            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers["content-length"]))
                self.answer({"id": "up_1", "status": "queued", "progress": 0})

            def do_GET(self) -> None:  # noqa: N802
                self.answer({"id": "up_1", "status": "in_progress", "progress": 10})

            def do_DELETE(self) -> None:  # noqa: N802
                upstream.deleted.append(self.path)
                self.answer({"deleted": True})

            def answer(self, body: dict) -> None:
                if self.command != busy_on:
                    return self.send_json(body)
                self.send_json({"error": {"message": "slow down"}}, 429, {"retry-after": str(ASKED)})
                upstream.busy_answered.set()

        super().__init__(Answers)


@pytest.fixture
def loopback(monkeypatch):
    allow_loopback(monkeypatch)
    servers: list[BusyUpstream] = []

    def start(busy_on: str) -> BusyUpstream:
        servers.append(BusyUpstream(busy_on))
        return servers[-1]

    yield start
    for fake in servers:
        fake.close()


def test_a_retry_after_longer_than_the_time_left_fails_at_once(loopback):
    upstream = loopback("POST")
    backend = UpstreamBackend(
        base_url=upstream.base_url, api_key="k", sizes=["64x64"], fps=8, timeout=3, retries=1
    )
    started = time.monotonic()
    with pytest.raises(ModelUnavailable) as e:
        list(backend.generate(GenerationRequest(prompt="a cat", width=64, height=64, seconds=1)))
    assert time.monotonic() - started < ASKED / 2  # it did not wait for the upstream
    message = e.value.message
    assert f"{ASKED} s wait" in message and "Retry-After" in message, message
    assert (
        upstream.base_url in message and "3 s timeout" in message and "raise the model's timeout" in message
    )


def test_deleting_a_job_ends_its_wait_on_a_retry_after_at_once(engine, loopback, tmp_path):  # noqa: F811
    upstream = loopback("GET")  # the video is made; polling it is refused for ASKED seconds
    backend = UpstreamBackend(base_url=upstream.base_url, api_key="k", sizes=["64x64"], fps=8, retries=3)
    with transaction(engine, immediate=True) as s:
        job = Job(account_id="acct_a", model="relay", backend_model="relay", prompt="a cat", seconds="1",
                  size="64x64", params={"native_width": 64, "native_height": 64})  # fmt: skip
        jid = store.add_job(s, job).id
    registry = SimpleNamespace(backend=lambda name: backend)
    worker = Worker(engine, registry, BlobStore(str(tmp_path / "blobs")), dispatch.DispatchPolicy(lease_seconds=30),
                    worker_id="w1", models=["relay"])  # fmt: skip
    run = threading.Thread(target=worker.run_once, daemon=True)
    run.start()
    assert upstream.busy_answered.wait(60), "the worker never polled the upstream"
    signal_cancel(jid)  # what deleting the video does
    run.join(ASKED / 2)
    assert not run.is_alive(), "the worker was still waiting on the upstream's Retry-After"
    with transaction(engine) as s:
        job = s.scalar(select(Job).where(Job.id == jid))
    assert (job.status, (job.error or {}).get("code")) == ("failed", "cancelled"), job.error
    assert upstream.deleted == ["/v1/videos/up_1"]  # the upstream's video is not left running
