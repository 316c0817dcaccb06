"""Faults injected into the running deployment: a worker SIGKILLed mid-job, PostgreSQL stopped for
10 s, S3 refusing connections for a while. Each time no job is lost, none completes twice, none is
charged twice, and the API keeps answering (503 with Retry-After while the database is away)."""

from __future__ import annotations

import os
import signal
import time

import httpx
import pytest
from sqlalchemy import select

from tests.scale.conftest import MODEL, audit, client_for, needs_scale
from tests.scale.services import wait_until

pytestmark = [needs_scale, pytest.mark.slow, pytest.mark.timeout(900)]
CLEAN = {"lost": [], "double_charge": [], "missing_output": [], "failed": []}


def _submit(dep, count: int) -> list[str]:
    clients = [client_for(dep, "alice"), client_for(dep, "carol")]
    return [
        clients[i % 2].videos.create(prompt=f"a green cone {i}", model=MODEL, size="64x64", seconds="4").id
        for i in range(count)
    ]


def _finish(dep, ids: list[str], timeout: float = 240) -> None:
    """Wait until every job (ids alternate alice, carol) is completed or failed, via the client."""
    clients = [client_for(dep, "alice", max_retries=5), client_for(dep, "carol", max_retries=5)]

    def done() -> bool:
        states = [clients[i % 2].videos.retrieve(jid).status for i, jid in enumerate(ids)]
        return all(s in ("completed", "failed") for s in states)

    wait_until(done, timeout, f"jobs {ids} to finish\n{dep.logs()}", interval=0.5)


def _running(dep):
    from zoetrope.db import transaction
    from zoetrope.jobs.models import Job

    engine = dep.engine()
    with transaction(engine) as s:
        rows = s.execute(
            select(Job.id, Job.worker_id).where(Job.status == "in_progress", Job.progress > 0)
        ).all()
    engine.dispose()
    return rows


def test_sigkilled_worker_job_completes_once_elsewhere(deployment):
    ids = _submit(deployment, 6)
    job_id, worker_id = wait_until(lambda: next(iter(_running(deployment)), None), 120, "a running job")
    pid = int(worker_id.split(":")[1])
    os.kill(pid, signal.SIGKILL)
    deployment.start_worker()  # the replacement, as a supervisor would start it
    _finish(deployment, ids)
    assert audit(deployment, ids) == CLEAN, deployment.logs()


def test_database_stopped_for_10_seconds(deployment):
    ids = _submit(deployment, 8)
    wait_until(lambda: _running(deployment), 120, "a running job")
    deployment.pg.stop()
    answers: list[httpx.Response] = []
    try:
        headers = {"authorization": f"Bearer {deployment.keys['alice']}"}
        end = time.monotonic() + 10
        while time.monotonic() < end:
            answers.append(httpx.get(f"{deployment.base_url}/videos/{ids[0]}", headers=headers, timeout=10))
            time.sleep(0.5)
    finally:
        deployment.pg.start()
    codes = {r.status_code for r in answers}
    assert codes <= {200, 503} and 503 in codes, codes
    assert all(r.headers.get("retry-after") for r in answers if r.status_code == 503)
    _finish(deployment, ids)
    assert audit(deployment, ids) == CLEAN, deployment.logs()


def test_s3_refusing_connections_for_a_while(deployment):
    ids = _submit(deployment, 6)
    wait_until(lambda: _running(deployment), 120, "a running job")
    deployment.s3.stop()
    time.sleep(4)
    deployment.s3.start()
    _finish(deployment, ids)
    assert audit(deployment, ids) == CLEAN, deployment.logs()
