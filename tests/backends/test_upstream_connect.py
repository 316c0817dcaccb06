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
from zoetrope.backends.upstream_http import Connection, RequestCut, open_client
from zoetrope.errors import ModelUnavailable

MARGIN = 8  # seconds: generous, so a slow machine never fails the tests; far below the 60 s request timeout


class FullQueue:
    """A loopback address whose accept queue is full: a connect to it waits (its SYNs are dropped) until
    `answer_later` empties the queue, after which the connect goes through on its next SYN."""

    def __init__(self) -> None:
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(0)
        port = self.server.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}/v1"
        self.held = []
        for _ in range(2):  # fill the queue; a connect beyond it times out instead of being answered
            s = socket.socket()
            s.settimeout(0.5)
            try:
                s.connect(("127.0.0.1", port))
            except TimeoutError:
                pass
            self.held.append(s)
        probe = socket.socket()
        probe.settimeout(0.5)
        with pytest.raises(TimeoutError):  # the premise: a connect now waits
            probe.connect(("127.0.0.1", port))
        probe.close()

    def answer_later(self, after: float) -> None:
        """After `after` seconds, take every queued connection and answer each request sent on one with 200 {}."""

        def serve() -> None:
            time.sleep(after)
            while True:
                try:
                    peer, _ = self.server.accept()
                except OSError:  # closed
                    return
                with peer:
                    peer.settimeout(0.5)
                    try:
                        if peer.recv(65536):
                            peer.sendall(b"HTTP/1.0 200 OK\r\ncontent-type: application/json\r\n"
                                         b"content-length: 2\r\n\r\n{}")
                    except OSError:  # a connection given up, or one of the queue's fillers
                        pass

        threading.Thread(target=serve, daemon=True).start()

    def close(self) -> None:
        for s in [*self.held, self.server]:
            s.close()


@pytest.fixture
def full_queue(monkeypatch):
    allow_loopback(monkeypatch)
    queue = FullQueue()
    yield queue
    queue.close()


def _generate(base_url: str, stop: threading.Event | None, timeout: float) -> tuple[float, Exception]:
    backend = UpstreamBackend(base_url=base_url, api_key="k", sizes=["64x64"], fps=8, timeout=timeout,
                              request_timeout=60, retries=0)
    request = GenerationRequest(prompt="a cat", width=64, height=64, seconds=1, stop=stop, job_id="job_1")
    started = time.monotonic()
    with pytest.raises((ModelUnavailable, Cancelled)) as e:
        list(backend.generate(request))
    return time.monotonic() - started, e.value


def test_cancelling_the_job_ends_a_connect_that_waits(full_queue):
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    took, error = _generate(full_queue.base_url, stop, timeout=600)
    assert isinstance(error, Cancelled), error
    assert took < MARGIN, took  # not the 60 s the connect would wait


def test_a_connect_that_waits_ends_at_the_jobs_timeout(full_queue):
    took, error = _generate(full_queue.base_url, None, timeout=2)
    assert isinstance(error, ModelUnavailable), error
    assert "timeout" in error.message and full_queue.base_url in error.message, error.message
    assert took < 2 + MARGIN, took


def test_the_clean_up_request_of_a_cancelled_job_still_connects(full_queue):
    # After a cancel the upstream's video is deleted by a request the cancel does not stop: a slow
    # connect for it is waited for, not given up as the job's own requests are.
    stop = threading.Event()
    stop.set()
    full_queue.answer_later(0.3)
    with open_client(timeout=20) as client:
        conn = Connection(client, time.monotonic() + 30, stop, "job_1")
        with pytest.raises(RequestCut) as cut:
            conn.request("GET", full_queue.base_url + "/videos/up_1")
        assert cut.value.cancelled
        answer = conn.request("DELETE", full_queue.base_url + "/videos/up_1", stoppable=False)
    assert answer.status_code == 200 and answer.json() == {}
