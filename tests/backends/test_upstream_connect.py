"""An upstream whose address takes no new connections (packets dropped, a full accept queue) keeps a
connect waiting for the whole request timeout: cancelling the job still ends it at once, and the job's
own timeout still bounds it."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from tests.loopback_upstream import allow_loopback
from zoetrope.backends.base import Cancelled, GenerationRequest
from zoetrope.backends.upstream import UpstreamBackend
from zoetrope.errors import ModelUnavailable

MARGIN = 8  # seconds: generous, so a slow machine never fails the tests; far below the 60 s request timeout


@pytest.fixture
def unanswered(monkeypatch):
    """A loopback address whose accept queue is full: a connect to it waits (its SYNs are dropped)."""
    allow_loopback(monkeypatch)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    held = []
    for _ in range(2):  # fill the queue; a connect beyond it times out instead of being answered
        s = socket.socket()
        s.settimeout(0.5)
        try:
            s.connect(("127.0.0.1", port))
        except TimeoutError:
            pass
        held.append(s)
    probe = socket.socket()
    probe.settimeout(0.5)
    with pytest.raises(TimeoutError):  # the premise: a connect now waits
        probe.connect(("127.0.0.1", port))
    probe.close()
    yield f"http://127.0.0.1:{port}/v1"
    for s in [*held, server]:
        s.close()


def _generate(base_url: str, stop: threading.Event | None, timeout: float) -> tuple[float, Exception]:
    backend = UpstreamBackend(base_url=base_url, api_key="k", sizes=["64x64"], fps=8, timeout=timeout,
                              request_timeout=60, retries=0)
    request = GenerationRequest(prompt="a cat", width=64, height=64, seconds=1, stop=stop, job_id="job_1")
    started = time.monotonic()
    with pytest.raises((ModelUnavailable, Cancelled)) as e:
        list(backend.generate(request))
    return time.monotonic() - started, e.value


def test_cancelling_the_job_ends_a_connect_that_waits(unanswered):
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    took, error = _generate(unanswered, stop, timeout=600)
    assert isinstance(error, Cancelled), error
    assert took < MARGIN, took  # not the 60 s the connect would wait


def test_a_connect_that_waits_ends_at_the_jobs_timeout(unanswered):
    took, error = _generate(unanswered, None, timeout=2)
    assert isinstance(error, ModelUnavailable), error
    assert "timeout" in error.message and unanswered in error.message, error.message
    assert took < 2 + MARGIN, took
