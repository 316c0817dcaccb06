"""A scale-out deployment on loopback, started once per session: a private PostgreSQL cluster, an
S3 server (moto), one `zoetrope serve --workers 0` and three `zoetrope worker` processes sharing
them. Tests drive it with the official `openai` client and may stop the services to inject faults."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.api.conftest import REPO, free_port, start_process, wait_healthy
from tests.scale.services import LoopbackS3, PrivateCluster
from tests.scale.steady_backend import HOLD_ENV

# Short leases so a lost worker's job is picked up again within seconds.
LEASE_SECONDS = 3.0
# Enough attempts that a job outlives each injected outage (backoff 2, 4, 8, 16, 32 s); running
# out of attempts is proven in test_transient.py.
MAX_ATTEMPTS = 6
MODEL = "steady"


@dataclass
class Deployment:
    url: str
    pg: PrivateCluster
    s3: LoopbackS3
    keys: dict[str, str]
    accounts: dict[str, str]
    env: dict[str, str]
    logdir: Path
    workers: list[subprocess.Popen] = field(default_factory=list)
    api: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return self.url + "/v1"

    def engine(self):
        from zoetrope.db import make_engine

        return make_engine(self.pg.url)

    def start_worker(self) -> subprocess.Popen:
        log = self.logdir / f"worker-{len(self.workers)}.log"
        proc = start_process(["worker", "-n", "1"], self.env, log)
        self.workers.append(proc)
        return proc

    @contextmanager
    def held(self) -> Iterator[None]:
        """Jobs that start inside the block wait after their first step until it ends."""
        hold = Path(self.env[HOLD_ENV])
        hold.touch()
        try:
            yield
        finally:
            hold.unlink()

    def logs(self) -> str:
        return "\n".join(f"== {p.name}\n{p.read_text()[-3000:]}" for p in sorted(self.logdir.glob("*.log")))


def _accounts(url: str) -> tuple[dict[str, str], dict[str, str]]:
    """alice (pro: fast lane), bob (plus: relaxed lane), carol (pro), each with one key."""
    from zoetrope.access.accounts import create_account
    from zoetrope.access.keys import create_key
    from zoetrope.db import make_engine, transaction
    from zoetrope.jobs.migrate import upgrade

    engine = make_engine(url)
    upgrade(engine)
    keys, ids = {}, {}
    with transaction(engine, immediate=True) as s:
        for name, plan in (("alice", "pro"), ("bob", "plus"), ("carol", "pro")):
            account = create_account(s, name, plan=plan)
            keys[name], ids[name] = create_key(s, account.id)[1], account.id
    engine.dispose()
    return keys, ids


@pytest.fixture(scope="session")
def deployment(tmp_path_factory) -> Deployment:
    logdir = tmp_path_factory.mktemp("scale")
    pg = PrivateCluster(free_port())
    s3 = LoopbackS3(free_port())
    dep: Deployment | None = None
    try:
        pg.start()
        s3.start()
        s3.client().create_bucket(Bucket=s3.bucket)
        keys, ids = _accounts(pg.url)
        config = logdir / "zoetrope.toml"
        defaults = resources.files("zoetrope.config").joinpath("defaults.toml").read_text()
        backend = "tests.scale.steady_backend:SteadyBackend"
        config.write_text(defaults + f'\n[[models]]\nname = "{MODEL}"\nbackend = "{backend}"\n')
        env = {
            **os.environ,
            **LoopbackS3.credentials,
            "ZOETROPE_DATA_DIR": str(logdir / "data"),
            "ZOETROPE_DATABASE_URL": pg.url,
            "ZOETROPE_BLOB_URL": f"s3://{s3.bucket}/zoetrope",
            "ZOETROPE_S3_ENDPOINT_URL": s3.endpoint,
            "ZOETROPE_CONFIG_FILE": str(config),
            "ZOETROPE_LEASE_SECONDS": str(LEASE_SECONDS),
            "ZOETROPE_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
            HOLD_ENV: str(logdir / "hold"),
            "PYTHONPATH": str(REPO),
            "PYTHONUNBUFFERED": "1",
        }
        port = free_port()
        dep = Deployment(f"http://127.0.0.1:{port}", pg, s3, keys, ids, env, logdir)
        dep.api = start_process(["serve", "--port", str(port), "--workers", "0"], env, logdir / "serve.log")
        for _ in range(3):
            dep.start_worker()
        wait_healthy(dep.url, dep.api, logdir / "serve.log", timeout=600)
        yield dep
    finally:
        procs = [*dep.workers, dep.api] if dep else []
        for proc in procs:
            if proc is not None and proc.poll() is None:
                proc.terminate()
        for proc in procs:
            if proc is not None:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
        s3.shutdown()
        pg.destroy()


def client_for(dep: Deployment, name: str, **kw):
    from openai import OpenAI

    # Generous: the first request loads the moderation model, slow on a busy machine.
    return OpenAI(base_url=dep.base_url, api_key=dep.keys[name], timeout=300, **kw)


def audit(dep: Deployment, job_ids: list[str]) -> dict[str, list[str]]:
    """What the database and the bucket say of these jobs: problems by kind (empty lists when all
    is well: each job finished, completed ones charged once and stored, failed ones released)."""
    from zoetrope.access.models import LedgerEntry, UsageEvent
    from zoetrope.db import transaction
    from zoetrope.jobs.models import Job

    problems: dict[str, list[str]] = {"lost": [], "double_charge": [], "missing_output": [], "failed": []}
    engine = dep.engine()
    stored = set(dep.s3.keys("zoetrope/videos/"))
    with transaction(engine) as s:
        jobs = {j.id: j for j in s.scalars(select(Job).where(Job.id.in_(job_ids)))}
        kinds: dict[str, list[str]] = {}
        for e in s.scalars(select(LedgerEntry).where(LedgerEntry.job_id.in_(job_ids))):
            kinds.setdefault(e.job_id, []).append(e.kind)
        usage: dict[str, int] = {}
        for u in s.scalars(select(UsageEvent).where(UsageEvent.job_id.in_(job_ids))):
            usage[u.job_id] = usage.get(u.job_id, 0) + 1
    engine.dispose()
    for jid in job_ids:
        job = jobs.get(jid)
        if job is None or job.status not in ("completed", "failed"):
            problems["lost"].append(f"{jid}: {job.status if job else 'missing'}")
        elif job.status == "failed":
            problems["failed"].append(f"{jid}: {job.error}")
            if sorted(kinds.get(jid, [])) not in ([], ["release", "reserve"]):
                problems["double_charge"].append(f"{jid}: ledger {kinds.get(jid)}")
        else:
            if usage.get(jid, 0) != 1 or "release" in kinds.get(jid, []):
                problems["double_charge"].append(f"{jid}: usage {usage.get(jid)} ledger {kinds.get(jid)}")
            if f"zoetrope/{job.outputs.get('video')}" not in stored:
                problems["missing_output"].append(f"{jid}: {job.outputs}")
    return problems
