"""One upstream generation's HTTP connection: requests that end at the job's deadline, or as soon as the job
is cancelled, however slowly the upstream sends its bytes.

httpx's timeouts bound each network operation (connect, one read, one write), not a whole response: an
upstream that trickles its answer a byte at a time keeps one request going for as long as it likes. So each
request here is watched by a thread that, at the request's deadline or when the job's stop event is set, shuts
down the connection's sockets; the blocked read or write ends at once and the request raises RequestCut.
Opening a connection has no socket to shut until it is open (an upstream whose address drops packets keeps
a connect waiting for the whole request timeout), so connections are opened in a helper thread that a
cancelled job stops waiting for.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field

import httpcore
import httpx

from zoetrope.backends.base import Cancelled

WATCH_EVERY = 0.1  # seconds: how often a request's watch looks at the job's stop event
_OPENED = ("connection.connect_tcp.complete", "connection.start_tls.complete")  # httpcore trace events


class RequestCut(Exception):
    """A request ended by its deadline (`cancelled` False) or by the job's cancellation (`cancelled` True);
    `answering`: the upstream's response headers had come, its body had not all come."""

    def __init__(self, cancelled: bool, answering: bool) -> None:
        super().__init__("cancelled" if cancelled else "deadline")
        self.cancelled = cancelled
        self.answering = answering


def _shut(sock: socket.socket) -> None:
    # The plain socket's shutdown, even on an SSLSocket (whose own shutdown drops its SSL state under a
    # read in flight): a read blocked in another thread sees the end of the stream at once, which close()
    # does not promise.
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:  # already closed
        pass


_requesting = threading.local()  # .stop: the stop event of the stoppable request this thread is making


class _StoppableConnects(httpcore.SyncBackend):
    """httpcore's own TCP connect, run in a helper thread while a stoppable request waits for it: once the
    job's stop event is set the request stops waiting, with a ConnectError, and the socket, should it still
    open, is closed. A request that is not stoppable (the clean-up delete) connects as httpcore does."""

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        stop = getattr(_requesting, "stop", None)
        if stop is None:
            return super().connect_tcp(host, port, timeout, local_address, socket_options)
        opened: list = []  # [stream] or [error], from the helper
        given_up = False
        lock = threading.Lock()
        done = threading.Event()

        def connect() -> None:
            try:
                result = super(_StoppableConnects, self).connect_tcp(host, port, timeout, local_address, socket_options)
            except Exception as e:  # noqa: BLE001 - raised in the request's own thread below
                result = e
            with lock:
                if given_up and not isinstance(result, Exception):
                    result.close()
                opened.append(result)
            done.set()

        threading.Thread(target=connect, name="upstream-connect", daemon=True).start()
        while not done.wait(WATCH_EVERY):
            if stop.is_set():
                with lock:
                    given_up = True
                    if opened and not isinstance(opened[0], Exception):
                        opened[0].close()
                raise httpcore.ConnectError(f"the job was cancelled while connecting to {host}:{port}")
        if isinstance(opened[0], Exception):
            raise opened[0]
        return opened[0]


def open_client(**kw) -> httpx.Client:
    """An httpx.Client (`kw` as httpx takes them) whose direct connects a job's cancellation ends at once.
    httpx takes no network backend, so its default transport's pool is given one; a client given a transport
    would no longer use the proxies that the environment names, so the client is built as usual first."""
    client = httpx.Client(**kw)
    pool = getattr(getattr(client, "_transport", None), "_pool", None)
    if type(getattr(pool, "_network_backend", None)) is httpcore.SyncBackend:
        pool._network_backend = _StoppableConnects()
    return client


@dataclass(frozen=True)
class Connection:
    """One generation's connection to the upstream: its client, the time.monotonic() by which the job must
    be done (the model's timeout), and the job's stop event (set when it is cancelled)."""

    client: httpx.Client
    deadline: float
    stop: threading.Event | None
    job_id: str | None
    # The client's open sockets (its requests run one at a time, so a cut may shut them all).
    _sockets: list[socket.socket] = field(default_factory=list, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def sleep(self, seconds: float) -> None:
        """Wait `seconds`; Cancelled at once when the job is cancelled meanwhile."""
        if self.stop is None:
            time.sleep(seconds)
        elif self.stop.wait(seconds):
            raise Cancelled(self.job_id)

    def request(
        self, method: str, url: str, *, until: float | None = None, stoppable: bool = True, **kw
    ) -> httpx.Response:
        """The whole response to one request, its body read. RequestCut when it is still going at `until`
        (a time.monotonic(); the job's deadline unless given) or, if `stoppable`, once the job is cancelled.
        httpx's `timeout` (in `kw`) still bounds each network operation."""
        until = self.deadline if until is None else until
        stop = self.stop if stoppable else None
        done = threading.Event()
        cut: list[bool] = []  # [cancelled] once the watch has cut the request
        answering: list[bool] = []  # [True] once the response headers have come

        def traced(event: str, info: dict) -> None:  # httpx's trace hook, run in this thread
            if event.endswith(".receive_response_headers.complete"):
                answering.append(True)
            elif event in _OPENED:
                sock = info["return_value"].get_extra_info("socket")
                with self._lock:
                    self._sockets[:] = [s for s in self._sockets if s.fileno() != -1] + [sock]
                    if cut:  # the watch fired while this socket was being opened
                        _shut(sock)

        def watch() -> None:
            while True:
                cancelled = stop is not None and stop.is_set()
                left = until - time.monotonic()
                if cancelled or left <= 0:
                    with self._lock:
                        cut.append(cancelled)
                        for sock in self._sockets:
                            _shut(sock)
                    return
                if done.wait(left if stop is None else min(left, WATCH_EVERY)):
                    return

        threading.Thread(target=watch, name="upstream-request-watch", daemon=True).start()
        _requesting.stop = stop
        try:
            return self.client.request(method, url, extensions={"trace": traced}, **kw)
        except httpx.HTTPError:
            if not cut and stop is not None and stop.is_set():  # a connect given up before the watch cut
                cut.append(True)
            if not cut:
                raise
            raise RequestCut(cut[0], bool(answering)) from None
        finally:
            _requesting.stop = None
            done.set()
