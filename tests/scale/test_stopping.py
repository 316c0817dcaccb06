"""`serve` and `worker` as an operator (or the out-of-memory killer) stops them: real processes on a
SQLite data directory, with the steady backend holding jobs in flight while the signal goes in."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from importlib import resources
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from tests.api.conftest import REPO, free_port, make_keys, start_process, wait_healthy
from tests.scale.services import wait_until
from tests.scale.steady_backend import HOLD_ENV

MODEL = "steady"


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    config = tmp_path / "zoetrope.toml"
    defaults = resources.files("zoetrope.config").joinpath("defaults.toml").read_text()
    config.write_text(defaults + f'\n[[models]]\nname = "{MODEL}"\nbackend = "tests.scale.steady_backend:SteadyBackend"\n')
    (tmp_path / "data").mkdir()
    return {
        **os.environ,
        "ZOETROPE_DATA_DIR": str(tmp_path / "data"),
        "ZOETROPE_CONFIG_FILE": str(config),
        "ZOETROPE_WEIGHTS_DIR": str(tmp_path / "no-weights"),  # the bundled model is left out
        "ZOETROPE_LEASE_SECONDS": "3",
        "ZOETROPE_MODERATION_PROCESS": "false",
        HOLD_ENV: str(tmp_path / "hold"),
        "PYTHONPATH": str(REPO),
        "PYTHONUNBUFFERED": "1",
        "COLUMNS": "300",
    }


def _serve(env: dict, log: Path, workers: int) -> tuple[subprocess.Popen, str, str]:
    """A running `serve`, its URL and alice's key."""
    key = make_keys(Path(env["ZOETROPE_DATA_DIR"]))["alice"]
    port = free_port()
    proc = start_process(["serve", "--port", str(port), "--workers", str(workers)], env, log)
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, proc, log, timeout=300)
    return proc, url, key


def _create(url: str, key: str) -> str:
    r = httpx.post(f"{url}/v1/videos", headers={"Authorization": f"Bearer {key}"}, timeout=60,
                   json={"model": MODEL, "prompt": "a blue square moves left", "size": "64x64", "seconds": "4"})
    assert r.status_code == 200, r.text
    return r.json()["id"]


def _job(env: dict, job_id: str):
    from zoetrope.db import make_engine, transaction
    from zoetrope.jobs.models import Job

    engine = make_engine(f"sqlite:///{Path(env['ZOETROPE_DATA_DIR']) / 'zoetrope.db'}")
    try:
        with transaction(engine) as s:
            return s.scalar(select(Job).where(Job.id == job_id))
    finally:
        engine.dispose()


def _children(pid: int) -> list[int]:
    kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(k) for k in kids if b"worker" in Path(f"/proc/{k}/cmdline").read_bytes()]


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


def _stop(*procs: subprocess.Popen) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serve_starts_a_new_worker_child_when_its_child_is_killed(env, tmp_path):
    log = tmp_path / "serve.log"
    serve, url, key = _serve(env, log, workers=1)
    try:
        (child,) = wait_until(lambda: _children(serve.pid), 60, "the worker child")
        os.kill(child, signal.SIGKILL)
        wait_until(lambda: not _alive(child), 10, "the killed child to be reaped")
        video = _create(url, key)
        wait_until(lambda: _job(env, video).status == "completed", 180, f"the video to complete:\n{log.read_text()}")
        assert f"worker process {child} was killed by signal 9" in log.read_text()
    finally:
        for pid in _children(serve.pid) if serve.poll() is None else []:
            os.kill(pid, signal.SIGKILL)
        _stop(serve)


def test_sigterm_twice_gives_a_running_job_back_to_the_queue_at_once(env, tmp_path):
    serve, url, key = _serve(env, tmp_path / "serve.log", workers=0)
    worker_log = tmp_path / "worker.log"
    worker = start_process(["worker", "-n", "1"], env, worker_log)
    try:
        Path(env[HOLD_ENV]).touch()
        video = _create(url, key)
        wait_until(lambda: _job(env, video).status == "in_progress", 120, f"the job to start:\n{worker_log.read_text()}")
        worker.send_signal(signal.SIGTERM)
        time.sleep(3)
        assert worker.poll() is None and _job(env, video).status == "in_progress"  # the job is finishing
        assert "finishing running jobs" in worker_log.read_text()
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=20)
        job = _job(env, video)
        assert job.status == "queued" and job.worker_id is None, job.status  # no lease to wait out
        assert f"gave 1 running job(s) back to the queue for another worker: {video}" in worker_log.read_text()
        Path(env[HOLD_ENV]).unlink()
        other = start_process(["worker", "-n", "1"], env, tmp_path / "other.log")
        try:
            wait_until(lambda: _job(env, video).status == "completed", 120, "another worker to run the job")
        finally:
            _stop(other)
    finally:
        _stop(worker, serve)


def test_a_worker_past_its_stop_grace_gives_its_job_back(env, tmp_path):
    serve, url, key = _serve(env, tmp_path / "serve.log", workers=0)
    worker_log = tmp_path / "worker.log"
    worker = start_process(["worker", "-n", "1"], {**env, "ZOETROPE_STOP_GRACE_SECONDS": "2"}, worker_log)
    try:
        Path(env[HOLD_ENV]).touch()
        video = _create(url, key)
        wait_until(lambda: _job(env, video).status == "in_progress", 120, f"the job to start:\n{worker_log.read_text()}")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=20) == 0
        assert _job(env, video).status == "queued"
        assert "still running after 2 s" in worker_log.read_text()
    finally:
        _stop(worker, serve)


def test_sigterm_to_serve_lets_the_worker_child_finish_its_job_and_cleans_up(env, tmp_path):
    log = tmp_path / "serve.log"
    serve, url, key = _serve(env, log, workers=1)
    (child,) = wait_until(lambda: _children(serve.pid), 60, "the worker child")
    try:
        Path(env[HOLD_ENV]).touch()
        video = _create(url, key)
        wait_until(lambda: _job(env, video).status == "in_progress", 120, f"the job to start:\n{log.read_text()}")
        serve.send_signal(signal.SIGTERM)
        time.sleep(3)
        assert serve.poll() is None and _alive(child), log.read_text()  # waiting for the job
        Path(env[HOLD_ENV]).unlink()
        assert serve.wait(timeout=60) == 0, log.read_text()
        assert _job(env, video).status == "completed"
        assert not _alive(child)
        run = Path(env["ZOETROPE_DATA_DIR"]) / "run"
        assert not list(run.glob("activity-*")) and not list(run.glob("metrics-*"))
    finally:
        if _alive(child):
            os.kill(child, signal.SIGKILL)
        _stop(serve)
