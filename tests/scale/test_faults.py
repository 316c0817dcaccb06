"""Faults injected into the running deployment: a worker SIGKILLed mid-job, PostgreSQL stopped for
10 s, S3 refusing connections for a while. The jobs are held in flight (steady_backend's hold)
while the fault goes in, so each test hits running work however loaded the machine is. Each time
no job is lost, none completes twice, none is charged twice, and the API keeps answering (503 with
Retry-After while the database or the bucket is away)."""

from __future__ import annotations

import os
import signal
import time

import httpx
import pytest
from sqlalchemy import select

from tests.scale.conftest import MODEL, audit, client_for
from tests.scale.services import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
CLEAN = {"lost": [], "double_charge": [], "missing_output": [], "failed": []}
# Deadlines for waits, generous for a loaded 2-core machine; no assertion depends on them.
WAIT = 300


def _submit(dep, count: int) -> list[str]:
    clients = [client_for(dep, "alice"), client_for(dep, "carol")]
    return [
        clients[i % 2].videos.create(prompt=f"a green cone {i}", model=MODEL, size="64x64", seconds="4").id
        for i in range(count)
    ]


def _finish(dep, ids: list[str]) -> None:
    """Wait until every job (ids alternate alice, carol) is completed or failed, via the client."""
    clients = [client_for(dep, "alice", max_retries=5), client_for(dep, "carol", max_retries=5)]

    def done() -> bool:
        states = [clients[i % 2].videos.retrieve(jid).status for i, jid in enumerate(ids)]
        return all(s in ("completed", "failed") for s in states)

    wait_until(done, WAIT, f"jobs {ids} to finish\n{dep.logs()}", interval=0.5)


def _jobs(dep, ids: list[str]):
    from zoetrope.db import transaction
    from zoetrope.jobs.models import Job

    engine = dep.engine()
    with transaction(engine) as s:
        rows = s.execute(
            select(Job.id, Job.status, Job.worker_id, Job.progress, Job.attempts, Job.params).where(Job.id.in_(ids))
        ).all()
    engine.dispose()
    return rows


def _running(dep, ids: list[str]):
    """(id, worker_id) of the jobs a worker is generating (held ones among them)."""
    return [(j.id, j.worker_id) for j in _jobs(dep, ids) if j.status == "in_progress" and j.progress > 0]


def _api_answers(dep, path: str, seconds: float) -> list[httpx.Response]:
    headers = {"authorization": f"Bearer {dep.keys['alice']}"}
    answers, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        answers.append(httpx.get(f"{dep.base_url}{path}", headers=headers, timeout=60))
        time.sleep(0.5)  # pacing of the probe, not a wait for an outcome
    return answers


def test_sigkilled_worker_job_completes_once_elsewhere(deployment):
    with deployment.held():
        ids = _submit(deployment, 6)
        job_id, worker_id = wait_until(
            lambda: next(iter(_running(deployment, ids)), None), WAIT, "a running job"
        )
        os.kill(int(worker_id.split(":")[1]), signal.SIGKILL)
        deployment.start_worker()  # the replacement, as a supervisor would start it
    _finish(deployment, ids)
    assert audit(deployment, ids) == CLEAN, deployment.logs()
    (killed,) = [j for j in _jobs(deployment, ids) if j.id == job_id]
    assert killed.attempts >= 2 and killed.worker_id != worker_id  # it ran again, on another worker


def test_database_stopped_for_10_seconds(deployment):
    with deployment.held():
        ids = _submit(deployment, 8)
        wait_until(lambda: _running(deployment, ids), WAIT, "a running job")
        deployment.pg.stop()
    try:  # the held jobs go on and finish generating while the database is away
        answers = _api_answers(deployment, f"/videos/{ids[0]}", seconds=10)
    finally:
        deployment.pg.start()
    codes = {r.status_code for r in answers}
    assert codes <= {200, 503} and 503 in codes, codes
    assert all(int(r.headers["retry-after"]) >= 1 for r in answers if r.status_code == 503)
    _finish(deployment, ids)
    assert audit(deployment, ids) == CLEAN, deployment.logs()


def _storage_retries(job) -> int:
    return (job.params or {}).get("unavailable_retries", 0)


def test_s3_refusing_connections_for_a_while(deployment):
    alice = client_for(deployment, "alice")
    stored = alice.videos.create_and_poll(prompt="a stored cube", model=MODEL, size="64x64", seconds="4")
    assert stored.status == "completed"
    with deployment.held():
        ids = _submit(deployment, 6)
        wait_until(lambda: _running(deployment, ids), WAIT, "a running job")
        deployment.s3.stop()
    try:  # the held jobs finish generating and cannot store their video: they are queued again
        set_back = wait_until(
            lambda: [j for j in _jobs(deployment, ids) if j.status == "queued" and _storage_retries(j) >= 1],
            WAIT,
            "a job set back by the storage outage",
        )
        download = _api_answers(deployment, f"/videos/{stored.id}/content", seconds=0.1)[0]
        listing = _api_answers(deployment, "/videos", seconds=0.1)[0]
    finally:
        deployment.s3.start()
    assert download.status_code == 503 and int(download.headers["retry-after"]) >= 1, download.text
    assert download.json()["error"]["code"] == "service_unavailable"
    assert listing.status_code == 200  # what needs only the database still answers
    _finish(deployment, ids)
    assert audit(deployment, ids) == CLEAN, deployment.logs()
    # Completed after the outage, its storage retries recorded; they gave their attempt back, so
    # the attempts meant for lost workers are all still there.
    retried = {j.id: (_storage_retries(j), j.attempts) for j in _jobs(deployment, ids)}
    assert all(retried[j.id][0] >= 1 and retried[j.id][1] == 1 for j in set_back), retried
    assert alice.videos.download_content(stored.id).read()[4:8] == b"ftyp"  # back once S3 is
