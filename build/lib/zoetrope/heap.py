"""Short garbage-collector pauses in long-running processes (`serve`, `worker`).

CPython's full collection (generation 2) walks every container object the process holds, with
the interpreter lock held: no thread runs Python until it ends. Once the text encoder, the
policy's exemplars and the web app are loaded, a `serve` process holds about 570,000 of them,
and a full collection took 200-350 ms on a 2-core EPYC; the interpreter ran several while
bench/api.py's create bursts ran, and every request in flight waited for each.

`settle()` is called once a process has loaded what it keeps for its whole life: it collects
once, then moves every object still alive into the permanent generation (`gc.freeze`), which
later collections skip. They then walk only what the process made since: request state, caches.
Over ten bursts of 400 distinct-prompt creates against `serve`, the one full collection that ran
during the bursts paused the API for 312 ms before, and for 18 ms with the heap settled.

`watch()` records every collection's pause in `zoetrope_gc_pause_seconds` (per generation), which
`/metrics` reports for the API and worker processes.
"""

from __future__ import annotations

import gc
import threading
import time
from collections import deque

from prometheus_client import Gauge, Histogram

FROZEN = Gauge(
    "zoetrope_gc_frozen_objects",
    "Objects this process keeps for its life, kept out of the garbage collector's passes",
    multiprocess_mode="liveall",
)
PAUSE = Histogram(
    "zoetrope_gc_pause_seconds",
    "Garbage collections of this process by generation, and how long each held every thread",
    ["generation"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)
_lock = threading.Lock()
_started: list[float] = []  # when the running collection began (collections never overlap)
# Pauses not yet in PAUSE. The collector calls back from whatever code allocated, possibly code
# that holds prometheus_client's lock, so the callback only appends here (no lock is taken) and a
# thread of its own moves the pauses into the histogram.
_pauses: deque[tuple[int, float]] = deque(maxlen=100_000)
_flusher: list[threading.Thread] = []


def settle() -> int:
    """Collect, then freeze what is left; return how many objects are frozen in all.

    Safe to call again after more long-lived state is loaded (a second model): each call
    collects first, so no garbage is frozen with it."""
    with _lock:
        gc.collect()
        gc.freeze()
        frozen = gc.get_freeze_count()
    FROZEN.set(frozen)
    return frozen


def watch(every: float = 1.0) -> None:
    """Record each garbage collection's pause from now on, in PAUSE within `every` seconds."""
    with _lock:
        if _flusher:
            return
        gc.callbacks.append(_on_collection)
        _flusher.append(threading.Thread(target=_flush_every, args=(every,), name="gc-pauses", daemon=True))
        _flusher[0].start()


def _on_collection(phase: str, info: dict) -> None:
    if phase == "start":
        _started[:] = [time.perf_counter()]
    elif _started:
        _pauses.append((info["generation"], time.perf_counter() - _started.pop()))


def _flush_every(every: float) -> None:
    while True:
        time.sleep(every)
        flush()


def flush() -> None:
    """Move the pauses recorded so far into PAUSE."""
    while _pauses:
        generation, seconds = _pauses.popleft()
        PAUSE.labels(str(generation)).observe(seconds)
