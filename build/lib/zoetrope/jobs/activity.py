"""Renders that give way to requests when the API and the workers share a machine (`serve`).

On 2 cores, a rendering worker slowed the API's requests even from Linux's idle scheduling class:
with the worker child stopped, bursts of 200 distinct-prompt creates a second answered in p50
34-45 ms and p99 61-125 ms; with it rendering, 71-105 ms and 117-303 ms; and two idle-class
numpy loops in its place did the same harm (52-125 ms, 111-295 ms). The scheduler hands a waking
request its core at once, so the cost is in what the cores share (caches, memory bandwidth, or
sibling threads on the host), which no priority removes.

So the API keeps, in a file both processes map, how many requests it is answering and when the
last one began (`Activity`). At every pause point of generation and release
(`zoetrope.yielding.pause`) the worker's render thread waits while requests are in flight and one
began within RECENT seconds, but never longer than HOLD at one point, so renders still move under
steady traffic. A client polling between requests, or one long download, does not hold renders:
only a flow of requests does. `zoetrope worker` on other machines never waits.
"""

from __future__ import annotations

import mmap
import os
import struct
import time
from pathlib import Path

ENV = "ZOETROPE_API_ACTIVITY"  # the file, set by `serve` for its worker child
RECENT = 0.1  # seconds: requests in flight hold renders only if one began this recently
HOLD = 0.5  # seconds at most that a render waits at one pause point
STEP = 0.002  # seconds between looks while holding
_SLOT = struct.Struct("<qq")  # requests in flight; CLOCK_MONOTONIC ns of the last one's start


class Activity:
    """The API's side. Its methods run on the event loop's thread only, so the count needs no lock."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_bytes(_SLOT.pack(0, 0))
        with self.path.open("r+b") as f:
            self._map = mmap.mmap(f.fileno(), _SLOT.size)
        self.in_flight = 0

    def begin(self, at_ns: int | None = None) -> None:
        """A request begins now (or at `at_ns` on the monotonic clock)."""
        self.in_flight += 1
        _SLOT.pack_into(self._map, 0, self.in_flight, time.monotonic_ns() if at_ns is None else at_ns)

    def end(self) -> None:
        self.in_flight -= 1
        struct.pack_into("<q", self._map, 0, self.in_flight)


class ActivityMiddleware:
    """ASGI middleware that counts the HTTP requests `activity` is answering."""

    def __init__(self, app, activity: Activity) -> None:
        self.app, self.activity = app, activity

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.activity.begin()
        try:
            await self.app(scope, receive, send)
        finally:
            self.activity.end()


class QuietWaiter:
    """The worker's side: `wait()` returns once no flow of requests is in flight (or after HOLD).
    `clock` and `sleep` are the monotonic clock in seconds and `time.sleep`."""

    def __init__(
        self, path: Path, *, recent: float = RECENT, hold: float = HOLD, clock=time.monotonic, sleep=time.sleep
    ) -> None:
        with Path(path).open("rb") as f:
            self._map = mmap.mmap(f.fileno(), _SLOT.size, access=mmap.ACCESS_READ)
        self.recent, self.hold, self.clock, self.sleep = recent, hold, clock, sleep

    def state(self) -> tuple[int, float]:
        """(requests in flight, when the last began on `clock`'s scale in seconds)."""
        in_flight, began = _SLOT.unpack_from(self._map, 0)
        return in_flight, began / 1e9

    def busy(self, now: float) -> bool:
        in_flight, began = self.state()
        return in_flight > 0 and now - began < self.recent

    def wait(self) -> None:
        start = now = self.clock()
        while self.busy(now) and now - start < self.hold:
            self.sleep(min(STEP, self.hold - (now - start)))
            now = self.clock()


def waiter_from_env() -> QuietWaiter | None:
    """The waiter for the API that started this worker process, if one did (`ENV`)."""
    path = os.environ.get(ENV)
    if not path:
        return None
    try:
        return QuietWaiter(Path(path))
    except (OSError, ValueError):
        return None
