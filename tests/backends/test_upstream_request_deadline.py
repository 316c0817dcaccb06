"""An upstream that answers slowly never keeps a job running past the model's timeout: each request
waits at most the time left before the job's deadline (not the longer request_timeout), and the job
then fails saying which setting to raise, and the upstream's video is deleted."""

from __future__ import annotations

import time

import pytest

from tests.loopback_upstream import Handler, LoopbackUpstream, allow_loopback
from zoetrope.backends.base import GenerationRequest
from zoetrope.backends.upstream import UpstreamBackend
from zoetrope.errors import ModelUnavailable

REQUEST_TIMEOUT = 60  # seconds one request may take: far longer than the job's timeout
JOB_TIMEOUT = 3


class SlowUpstream(LoopbackUpstream):
    """A Videos API on loopback that creates video up_1 at once but answers every poll of it
    (GET) only when the test ends."""

    def __init__(self) -> None:
        self.deleted: list[str] = []
        upstream = self

        class Answers(Handler):
            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers["content-length"]))
                self.send_json({"id": "up_1", "status": "queued", "progress": 0})

            def do_GET(self) -> None:  # noqa: N802
                upstream.release.wait(2 * REQUEST_TIMEOUT)
                self.send_json({"id": "up_1", "status": "in_progress", "progress": 10})

            def do_DELETE(self) -> None:  # noqa: N802
                upstream.deleted.append(self.path)
                self.send_json({"deleted": True})

        super().__init__(Answers)


@pytest.fixture
def upstream(monkeypatch):
    allow_loopback(monkeypatch)
    fake = SlowUpstream()
    yield fake
    fake.close()


def test_a_slow_upstream_fails_the_job_at_its_timeout_not_the_request_timeout(upstream):
    backend = UpstreamBackend(
        base_url=upstream.base_url,
        api_key="k",
        sizes=["64x64"],
        fps=8,
        timeout=JOB_TIMEOUT,
        request_timeout=REQUEST_TIMEOUT,
        poll_interval=0.1,
        retries=3,
    )
    started = time.monotonic()
    with pytest.raises(ModelUnavailable) as e:
        list(backend.generate(GenerationRequest(prompt="a cat", width=64, height=64, seconds=1)))
    assert time.monotonic() - started < REQUEST_TIMEOUT / 2  # it did not wait out the request_timeout
    message = e.value.message
    assert "GET /videos/up_1" in message and "got no answer" in message, message
    assert f"{JOB_TIMEOUT} s timeout" in message and "raise the model's timeout option" in message, message
    assert upstream.base_url in message, message
    assert upstream.deleted == ["/v1/videos/up_1"]  # the upstream's video is not left running
