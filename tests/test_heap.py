"""`zoetrope.heap.settle`: what a long-running process has loaded leaves the collector's passes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Run in a fresh interpreter: freezing the test process's own heap would outlive the test.
PROBE = """
import gc, json, weakref
from zoetrope.heap import settle

class Node:
    pass

kept = [[i] for i in range(20_000)]  # long-lived state, alive when settle() runs
cycle = Node()
cycle.me = cycle  # garbage only a collection frees
gone = weakref.ref(cycle)
del cycle
frozen = settle()
walked = {id(o) for o in gc.get_objects()}  # what a full collection walks now
new = [[i] for i in range(100)]
walked_later = {id(o) for o in gc.get_objects()}
print(json.dumps({
    "frozen": frozen,
    "cycle_collected": gone() is None,
    "kept_walked": sum(id(x) in walked for x in kept),
    "new_walked": sum(id(x) in walked_later for x in new),
    "again": settle() >= frozen,
}))
"""


def test_settle_collects_then_keeps_what_is_alive_out_of_later_passes():
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, cwd=REPO, timeout=120, check=True
    ).stdout
    got = json.loads(out.strip().splitlines()[-1])
    assert got["frozen"] >= 20_000
    assert got["cycle_collected"]  # collected first: garbage is not frozen with the rest
    assert got["kept_walked"] == 0  # a full collection no longer walks the long-lived objects
    assert got["new_walked"] == 100  # but still walks what the process makes afterwards
    assert got["again"]


WATCH = """
import gc, json, time
from prometheus_client import REGISTRY
from zoetrope import heap

heap.watch(every=0.05)
heap.watch()  # once per process: a second call adds no second callback
for _ in range(3):
    gc.collect()
time.sleep(0.5)  # the flushing thread moves the pauses into the histogram
count = REGISTRY.get_sample_value("zoetrope_gc_pause_seconds_count", {"generation": "2"})
total = REGISTRY.get_sample_value("zoetrope_gc_pause_seconds_sum", {"generation": "2"})
print(json.dumps({"count": count, "total": total, "callbacks": gc.callbacks.count(heap._on_collection)}))
"""


def test_watch_records_every_collection_s_pause_by_generation():
    out = subprocess.run(
        [sys.executable, "-c", WATCH], capture_output=True, text=True, cwd=REPO, timeout=120, check=True
    ).stdout
    got = json.loads(out.strip().splitlines()[-1])
    assert got["count"] == 3  # the three full collections, each observed once
    assert 0 < got["total"] < 30
    assert got["callbacks"] == 1
