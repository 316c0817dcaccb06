"""An upstream that answers slowly never keeps a job running past the model's timeout: each request
waits at most the time left before the job's deadline (not the longer request_timeout), and the job
then fails saying which setting to raise, and the upstream's video is deleted."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from zoetrope.backends.base import GenerationRequest
from zoetrope.backends.upstream import UpstreamBackend
from zoetrope.errors import ModelUnavailable
from zoetrope.settings import get_settings

REQUEST_TIMEOUT = 60  # seconds one request may take: far longer than the job's timeout
JOB_TIMEOUT = 3


class SlowUpstream:
    """A Videos API on loopback that creates video up_1 at once but answers every poll of it
    (GET) only when the test ends."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.deleted: list[str] = []
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers["content-length"]))
                self.answer({"id": "up_1", "status": "queued", "progress": 0})

            def do_GET(self) -> None:  # noqa: N802
                upstream.release.wait(2 * REQUEST_TIMEOUT)
                self.answer({"id": "up_1", "status": "in_progress", "progress": 10})

            def do_DELETE(self) -> None:  # noqa: N802
                upstream.deleted.append(self.path)
                self.answer({"deleted": True})

            def answer(self, body: dict) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(200)
                    self.send_header("content-length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up waiting
                    pass

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_port}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def upstream(monkeypatch):
    monkeypatch.setenv("ZOETROPE_WEBHOOK_ALLOWED_NETWORKS", '["127.0.0.0/8"]')  # the upstream is on loopback
    get_settings.cache_clear()
    fake = SlowUpstream()
    yield fake
    fake.release.set()
    fake.server.shutdown()
    fake.server.server_close()
    get_settings.cache_clear()  # the next test reads its own environment


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
