"""The pipe from `serve` to its worker process: news of jobs and deletions, and its closing."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from zoetrope.jobs.children import listen_to_parent


def test_the_child_hears_new_jobs_and_deletions_and_stops_when_the_pipe_closes():
    read_fd, write_fd = os.pipe()
    jobs, cancels, closed = [], [], threading.Event()
    thread = listen_to_parent(read_fd, lambda: jobs.append(1), cancels.append, closed.set)
    os.write(write_fd, b"job\njob\ncancel video_abc\nnonsense\n")
    os.close(write_fd)  # the parent stopped or died
    assert closed.wait(10)
    thread.join(10)
    assert jobs == [1, 1]
    assert cancels == ["video_abc"]


def test_metrics_folders_of_dead_servers_are_cleared(tmp_path, monkeypatch):
    from zoetrope.jobs import children

    monkeypatch.setenv(children.METRICS_DIR, "")  # recorded, so the folder set below is undone
    monkeypatch.delenv(children.METRICS_DIR)
    dead = tmp_path / "run" / "metrics-999999999"
    dead.mkdir(parents=True)
    (dead / "counter_1.db").write_bytes(b"x")
    folder = children.share_metrics(tmp_path)
    assert folder == tmp_path / "run" / f"metrics-{os.getpid()}" and folder.is_dir()
    assert os.environ[children.METRICS_DIR] == str(folder)
    assert not dead.exists()
    assert children.share_metrics(tmp_path) is None  # the environment names a folder already


@pytest.mark.skipif(
    not Path("/proc/self/task").is_dir(), reason="per-thread priorities are read from Linux's /proc"
)
@pytest.mark.parametrize("idle", [False, True], ids=["nice", "nice+idle class"])
def test_lowering_the_priority_reaches_threads_that_libraries_started_at_import(idle):
    # A fresh interpreter: numpy starts its BLAS threads when it loads, before anything lowers it.
    script = f"""
import os, threading, time
from pathlib import Path
import numpy
started = threading.Event()
threading.Thread(target=lambda: (started.set(), time.sleep(5)), daemon=True).start()
started.wait()
from zoetrope.jobs.children import lower_priority
lower_priority(7, idle={idle})
def show(name, tid):
    print(name, os.getpriority(os.PRIO_PROCESS, tid), os.sched_getscheduler(tid))
later_ids = []
later = threading.Thread(target=lambda: (later_ids.append(threading.get_native_id()), show("later", 0)))
later.start(); later.join()
for task in Path("/proc/self/task").iterdir():
    tid = int(task.name)
    # The joined thread may still be listed for a moment after join: it is the later one, not other.
    name = "caller" if tid == os.getpid() else "later" if tid in later_ids else "other"
    try:
        show(name, tid)
    except ProcessLookupError:  # a thread that ended after the listing (the joined one)
        pass
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    rows = [(name, int(nice), int(policy)) for name, nice, policy in map(str.split, out.stdout.splitlines())]
    base = os.getpriority(os.PRIO_PROCESS, 0)
    names = [name for name, _, _ in rows]
    assert names.count("other") >= 2 and "caller" in names and "later" in names  # + numpy's, the early one
    assert [nice for _, nice, _ in rows] == [min(base + 7, 19)] * len(rows)
    # With `idle`, the threads already running go to the idle class; the caller, and the threads it
    # starts later (which write the database in the worker), keep the normal class.
    normal = os.sched_getscheduler(0)
    for name, _, policy in rows:
        assert policy == (os.SCHED_IDLE if idle and name == "other" else normal), (name, policy)
