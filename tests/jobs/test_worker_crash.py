"""A worker killed mid-job (SIGKILL): after its lease expires another worker completes the job, once,
and the job's reserved credits are captured once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

from tests.jobs.conftest import slow_model_config
from zoetrope.access import ledger
from zoetrope.access.accounts import create_account
from zoetrope.access.entitlements import RequestSummary
from zoetrope.access.models import LedgerEntry, UsageEvent
from zoetrope.access.pricing import Charge as Cost
from zoetrope.db import make_engine, transaction
from zoetrope.jobs import store
from zoetrope.jobs.migrate import upgrade
from zoetrope.jobs.models import Job

REPO = Path(__file__).resolve().parents[2]


def _worker(env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "zoetrope", "worker", "-n", "1"],
        env=env,
        cwd=REPO,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def _job(engine, job_id: str) -> Job:
    with transaction(engine) as s:
        return s.scalar(select(Job).where(Job.id == job_id))


def _wait(engine, job_id: str, ok, timeout: float, log: Path) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = _job(engine, job_id)
        if ok(job):
            return job
        time.sleep(0.05)
    raise AssertionError(f"timed out; job={_job(engine, job_id).__dict__}\n{log.read_text()}")


def test_killed_worker_job_completes_once_on_another_worker(tmp_path):
    config = slow_model_config(tmp_path)
    env = {
        **os.environ,
        "ZOETROPE_DATA_DIR": str(tmp_path),
        "ZOETROPE_CONFIG_FILE": str(config),
        "ZOETROPE_LEASE_SECONDS": "1.5",
        "PYTHONPATH": str(REPO),
    }
    engine = make_engine(f"sqlite:///{tmp_path / 'zoetrope.db'}")
    upgrade(engine)
    with transaction(engine, immediate=True) as s:
        account = create_account(s, "crash", plan="pro")
        job = store.add_job(
            s,
            Job(
                account_id=account.id,
                model="slow-test",
                backend_model="slow-test",
                prompt="p",
                seconds="1",
                size="64x64",
                params={"native_width": 64, "native_height": 64},
            ),
        )
        summary = RequestSummary(model="slow-test", width=64, height=64, seconds=1)
        ledger.grant(s, account.id, 100, key="grant:test")
        ledger.reserve(s, account.id, None, job.id, summary, "fast", Cost(credits=3))
    log = tmp_path / "workers.log"
    first = _worker(env, log)
    try:
        running = _wait(engine, job.id, lambda j: j.status == "in_progress" and j.progress > 0, 30, log)
        first.send_signal(signal.SIGKILL)
        first.wait()
        second = _worker(env, log)
        try:
            done = _wait(engine, job.id, lambda j: j.status in ("completed", "failed"), 30, log)
        finally:
            second.terminate()
            second.wait(timeout=20)
    finally:
        if first.poll() is None:
            first.kill()
    assert done.status == "completed", done.error
    assert done.attempts == 2 and done.worker_id != running.worker_id
    assert done.outputs["video"].startswith(f"videos/{job.id}/2/")
    with transaction(engine) as s:
        kinds = [e.kind for e in s.scalars(select(LedgerEntry).where(LedgerEntry.job_id == job.id))]
        usage = s.scalars(select(UsageEvent).where(UsageEvent.job_id == job.id)).all()
        assert ledger.get_charge(s, job.id).status == "captured"
        assert ledger.balance(s, account.id) == 97
    assert sorted(kinds) == ["reserve"] and len(usage) == 1  # captured once, never released
