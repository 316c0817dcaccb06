"""`zoetrope serve` runs its workers in a child process: at a lower CPU priority, woken at once
for new jobs, reporting its metrics through the API's `/metrics`, and gone when the API is."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import free_port, make_keys, start_process, wait_healthy
from zoetrope.jobs.children import WORKER_NICENESS

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads processes from /proc")


def _worker_processes(data_dir: Path) -> list[int]:
    """Pids of `zoetrope worker` processes on `data_dir`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            env = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"worker" in argv and f"ZOETROPE_DATA_DIR={data_dir}".encode() in env:
            found.append(int(entry.name))
    return found


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def test_workers_run_in_a_lower_priority_child_whose_metrics_the_api_reports(server, client):
    video = client.videos.create_and_poll(prompt="a red ball rolls right", model="sora-2", size="64x64", seconds="4")
    assert video.status == "completed"  # so the child has started its workers
    children = _worker_processes(server.data_dir)
    assert len(children) == 1
    (child,) = children
    parent_nice = os.getpriority(os.PRIO_PROCESS, _parent(child))
    assert os.getpriority(os.PRIO_PROCESS, child) == parent_nice + WORKER_NICENESS
    if hasattr(os, "SCHED_IDLE"):
        # It rendered in the idle class; its main thread, which writes the database (as the threads
        # it starts do), keeps the normal class.
        policies = []
        for task in Path(f"/proc/{child}/task").iterdir():
            try:
                policies.append(os.sched_getscheduler(int(task.name)))
            except ProcessLookupError:  # a thread that ended after the listing
                pass
        assert os.SCHED_IDLE in policies
        assert os.sched_getscheduler(child) == os.sched_getscheduler(0) != os.SCHED_IDLE
    text = httpx.get(server.url + "/metrics", timeout=30).text
    samples = {
        line.split(" ")[0]: float(line.split(" ")[1]) for line in text.splitlines() if line and not line.startswith("#")
    }
    # Recorded by the child's workers, reported by the API's process.
    assert sum(v for k, v in samples.items() if k.startswith("zoetrope_job_latency_seconds_count")) >= 1
    assert sum(v for k, v in samples.items() if k.startswith("zoetrope_dispatch_latency_seconds_count")) >= 1
    assert any(k.startswith("zoetrope_jobs{") for k in samples)  # queue depth, from the API's process


def test_the_worker_process_exits_when_the_api_process_dies(tmp_path, tiny_weights):
    make_keys(tmp_path)
    port = free_port()
    env = {
        **os.environ,
        "ZOETROPE_DATA_DIR": str(tmp_path),
        "ZOETROPE_WEIGHTS_DIR": str(tiny_weights),
        "ZOETROPE_WORKERS": "1",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    log = tmp_path / "serve.log"
    proc = start_process(["serve", "--port", str(port)], env, log)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc, log)
        deadline = time.monotonic() + 120
        while not (children := _worker_processes(tmp_path)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(children) == 1, log.read_text()
        proc.send_signal(signal.SIGKILL)  # no shutdown of its own: the closed pipe tells the child
        proc.wait()
        deadline = time.monotonic() + 60
        while _worker_processes(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _worker_processes(tmp_path) == [], log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()


def test_the_api_and_worker_processes_keep_what_they_loaded_out_of_the_collector_s_passes(server, client):
    video = client.videos.create_and_poll(prompt="a blue cube slides left", model="sora-2", size="64x64", seconds="4")
    assert video.status == "completed"  # the child's model has rendered a job
    (child,) = _worker_processes(server.data_dir)
    api = _parent(child)
    frozen: dict[int, float] = {}
    deadline = time.monotonic() + 120  # the API settles once its moderator is built, in the background
    while time.monotonic() < deadline:
        text = httpx.get(server.url + "/metrics", timeout=30).text
        frozen = {
            int(line.split('pid="')[1].split('"')[0]): float(line.split(" ")[1])
            for line in text.splitlines()
            if line.startswith("zoetrope_gc_frozen_objects{")
        }
        if api in frozen and child in frozen:
            break
        time.sleep(0.5)
    # Both hold the text encoder (and the child the model): hundreds of thousands of objects.
    assert frozen.get(api, 0) > 100_000, frozen
    assert frozen.get(child, 0) > 100_000, frozen
    # And both report their collections' pauses, summed over the processes.
    (young,) = [line for line in text.splitlines() if line.startswith('zoetrope_gc_pause_seconds_count{generation="0"}')]
    assert float(young.split(" ")[1]) > 0
