"""An upstream that trickles its answers (a byte at a time, so no single read ever times out) never keeps a
job past the model's timeout: each request (create, poll, download, and the clean-up delete within its
allowance) is cut at the job's deadline with an error naming the setting to raise, and cancelling the job
ends a trickling request at once."""

from __future__ import annotations

import json
import threading
import time

import pytest

from tests.loopback_upstream import Handler, LoopbackUpstream, allow_loopback
from zoetrope.backends.base import Cancelled, GenerationRequest
from zoetrope.backends.upstream import CLEANUP_TIMEOUT, UpstreamBackend
from zoetrope.errors import ModelUnavailable

JOB_TIMEOUT = 2  # seconds: the model's timeout
EVERY = 0.3  # seconds between the trickled bytes
PAD = "x" * 120  # at EVERY seconds a byte, any trickled answer takes 36 s or more
MARGIN = 8  # seconds: generous, so a slow machine never fails the tests


class TricklingUpstream(LoopbackUpstream):
    """A Videos API on loopback that makes video up_1; the requests named in `trickle` (POST, GET, CONTENT
    for GET .../content, DELETE) are answered a byte every EVERY seconds, the rest at once. `headers` trickles
    the status line and headers too, not just the body."""

    def __init__(self, trickle: set[str], headers: bool = False) -> None:
        self.trickling = threading.Event()  # set once a trickled answer has begun
        self.deleted: list[str] = []
        upstream = self

        class Answers(Handler):
            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers["content-length"]))
                self.answer("POST", {"id": "up_1", "status": "queued", "progress": 0})

            def do_GET(self) -> None:  # noqa: N802
                if self.path.endswith("/content"):
                    self.answer("CONTENT", PAD.encode(), "video/mp4")
                else:
                    self.answer("GET", {"id": "up_1", "status": "completed", "progress": 100})

            def do_DELETE(self) -> None:  # noqa: N802
                upstream.deleted.append(self.path)
                self.answer("DELETE", {"deleted": True})

            def answer(self, what: str, body: dict | bytes, kind: str = "application/json") -> None:
                if isinstance(body, dict):
                    body = json.dumps({**body, "pad": PAD} if what in trickle else body).encode()
                head = f"HTTP/1.0 200 OK\r\ncontent-type: {kind}\r\ncontent-length: {len(body)}\r\n"
                head = (head + (f"x-pad: {PAD}\r\n" if headers else "") + "\r\n").encode()
                try:
                    if what not in trickle:
                        self.wfile.write(head + body)
                        return
                    upstream.trickling.set()
                    if not headers:
                        self.wfile.write(head)
                    for i in range(0 if headers else len(head), len(head) + len(body)):
                        self.wfile.write((head + body)[i : i + 1])
                        self.wfile.flush()
                        if upstream.release.wait(EVERY):
                            return
                except OSError:  # the client hung up
                    pass

        super().__init__(Answers)

    def backend(self, timeout: float = JOB_TIMEOUT) -> UpstreamBackend:
        return UpstreamBackend(
            base_url=self.base_url, api_key="k", sizes=["64x64"], fps=8, timeout=timeout, poll_interval=0.1
        )


@pytest.fixture
def loopback(monkeypatch):
    allow_loopback(monkeypatch)
    servers: list[TricklingUpstream] = []

    def start(trickle: set[str], headers: bool = False) -> TricklingUpstream:
        servers.append(TricklingUpstream(trickle, headers))
        return servers[-1]

    yield start
    for fake in servers:
        fake.close()


def _generate(backend: UpstreamBackend, stop: threading.Event | None = None) -> tuple[float, Exception]:
    """The seconds the generation ran before it raised (it must raise), and what it raised."""
    request = GenerationRequest(prompt="a cat", width=64, height=64, seconds=1, stop=stop, job_id="job_1")
    started = time.monotonic()
    with pytest.raises((ModelUnavailable, Cancelled)) as e:
        list(backend.generate(request))
    return time.monotonic() - started, e.value


@pytest.mark.parametrize(
    "trickle, headers, what",
    [
        ({"POST"}, True, "POST /videos (creating the video)"),
        ({"GET"}, False, "GET /videos/up_1 (checking on the video)"),
        ({"CONTENT"}, False, "GET /videos/up_1/content (downloading the video)"),
    ],
    ids=["create-headers", "poll-body", "download-body"],
)
def test_a_trickling_answer_is_cut_at_the_jobs_timeout(loopback, trickle, headers, what):
    upstream = loopback(trickle, headers)
    took, error = _generate(upstream.backend())
    assert took < JOB_TIMEOUT + MARGIN, took  # not the 36 s the trickle takes
    assert isinstance(error, ModelUnavailable), error
    message = error.message
    assert f"{what} to the upstream {upstream.host}" in message, message
    assert f"{JOB_TIMEOUT} s timeout" in message and "raise the model's timeout option" in message, message
    assert upstream.base_url in message, message
    if not what.startswith("POST"):
        assert upstream.deleted == ["/v1/videos/up_1"]  # the upstream's video is not left running


def test_a_trickling_clean_up_delete_ends_within_its_allowance(loopback):
    upstream = loopback({"CONTENT", "DELETE"})
    took, error = _generate(upstream.backend())
    assert took < JOB_TIMEOUT + CLEANUP_TIMEOUT + MARGIN, took
    assert isinstance(error, ModelUnavailable), error
    assert upstream.deleted == ["/v1/videos/up_1"]


def test_cancelling_the_job_ends_a_trickling_request_at_once(loopback):
    upstream = loopback({"CONTENT"})
    stop = threading.Event()

    def cancel() -> None:
        upstream.trickling.wait(30)
        time.sleep(0.5)
        stop.set()

    threading.Thread(target=cancel, daemon=True).start()
    took, error = _generate(upstream.backend(timeout=600), stop)
    assert isinstance(error, Cancelled), error
    assert took < MARGIN, took  # not the 36 s the trickle takes, nor the 600 s timeout
    assert upstream.deleted == ["/v1/videos/up_1"]
