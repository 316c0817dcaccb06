"""Queue benchmark: many jobs from 10 accounts on mixed plans through the real claim/complete path.

Worker threads claim with `dispatch.claim_next`, run StubSteadyBackend (bench/stub_backend.py's
stub, plus a fixed sleep so jobs overlap), and `dispatch.complete` each job. A sampler counts
running jobs per account. Prints throughput, queue latency per lane (p50/p99), the dispatch
overhead (claim + complete) against the backend's own time, and writes bench/results/queue.json.
PostgreSQL when ZOETROPE_TEST_POSTGRES_URL (or the default local server) answers, else SQLite.
Run: `.venv/bin/python bench/queue_load.py [--jobs 1000]` (not `queue.py`: a file of that name in
bench/ would shadow the stdlib `queue` for every script here).
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import date  # noqa: E402
from pathlib import Path  # noqa: E402

from sqlalchemy import Engine, func, select  # noqa: E402

from bench.stub_backend import StubFastBackend  # noqa: E402
from zoetrope.backends.base import GenerationRequest  # noqa: E402
from zoetrope.db import transaction  # noqa: E402
from zoetrope.jobs import dispatch, store  # noqa: E402
from zoetrope.jobs.models import IN_PROGRESS, Job  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
# 10 accounts on mixed plans: (lane, max concurrent jobs), as pro / plus / team plans give them.
ACCOUNTS = [("fast", 5), ("fast", 3), ("fast", 2), ("fast", 1)] + [("relaxed", 1)] * 4 + [("relaxed", 2)] * 2


class StubSteadyBackend(StubFastBackend):
    """The stub, taking a fixed time per job so that jobs of one account overlap."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    def generate(self, request, progress=lambda *_: None):
        time.sleep(self.seconds)
        yield from super().generate(request, progress)


@dataclass
class QueueRun:
    elapsed: float = 0.0
    completed: int = 0
    waits: dict[str, list[float]] = field(default_factory=lambda: {"fast": [], "relaxed": []})
    dispatch_s: list[float] = field(default_factory=list)
    backend_s: list[float] = field(default_factory=list)
    peak_running: dict[str, int] = field(default_factory=dict)
    limits: dict[str, int] = field(default_factory=dict)
    samples: int = 0


def submit_jobs(engine: Engine, count: int, prefix: str = "acct") -> dict[str, int]:
    """`count` queued jobs spread round-robin over ACCOUNTS; returns account id -> its limit."""
    limits = {f"{prefix}_{i}": n for i, (_, n) in enumerate(ACCOUNTS)}
    with transaction(engine, immediate=True) as s:
        for i in range(count):
            a = i % len(ACCOUNTS)
            lane, limit = ACCOUNTS[a]
            job = Job(account_id=f"{prefix}_{a}", model="stub-fast", backend_model="stub-fast", prompt=f"p{i}",
                      seconds="1", size="64x64", lane=lane, max_concurrent=limit)  # fmt: skip
            store.add_job(s, job)
    return limits


def _sample(engine: Engine, run: QueueRun, stop: threading.Event) -> None:
    while not stop.wait(0.01):
        with transaction(engine) as s:
            rows = s.execute(
                select(Job.account_id, func.count()).where(Job.status == IN_PROGRESS).group_by(Job.account_id)
            ).all()
        run.samples += 1
        for account, n in rows:
            run.peak_running[account] = max(run.peak_running.get(account, 0), n)


def run_queue(engine: Engine, expected: int, *, threads: int, work_s: float, policy) -> QueueRun:
    """Drain the queue with `threads` workers; returns what was measured."""
    run, lock, stop = QueueRun(), threading.Lock(), threading.Event()
    backend = StubSteadyBackend(work_s)
    request = GenerationRequest(prompt="p", width=64, height=64, seconds=1.0, task="t2v")

    def work(n: int) -> None:
        while True:
            t0 = time.perf_counter()
            job = dispatch.claim_next(engine, f"bench-{n}", policy)
            t1 = time.perf_counter()
            if job is None:
                with lock:
                    if run.completed >= expected:
                        return
                time.sleep(0.005)
                continue
            list(backend.generate(request))
            t2 = time.perf_counter()
            assert dispatch.complete(engine, job.id, f"bench-{n}", policy, outputs={}, details={})
            t3 = time.perf_counter()
            with lock:
                run.completed += 1
                run.waits[job.lane].append(job.started_at - job.created_at)
                run.dispatch_s.append((t1 - t0) + (t3 - t2))
                run.backend_s.append(t2 - t1)

    sampler = threading.Thread(target=_sample, args=(engine, run, stop), daemon=True)
    sampler.start()
    start = time.perf_counter()
    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    [t.start() for t in workers]
    [t.join() for t in workers]
    run.elapsed = time.perf_counter() - start
    stop.set()
    sampler.join()
    return run


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else 0.0


def summary(run: QueueRun) -> dict:
    out = {
        "jobs": run.completed,
        "seconds": run.elapsed,
        "throughput_jobs_per_s": run.completed / run.elapsed,
    }
    for lane, waits in run.waits.items():
        out[f"{lane}_wait_p50_s"], out[f"{lane}_wait_p99_s"] = pct(waits, 0.5), pct(waits, 0.99)
        out[f"{lane}_wait_max_s"] = max(waits, default=0.0)
    out["dispatch_overhead_p50_ms"] = pct(run.dispatch_s, 0.5) * 1e3
    out["dispatch_overhead_p99_ms"] = pct(run.dispatch_s, 0.99) * 1e3
    out["backend_p50_ms"] = pct(run.backend_s, 0.5) * 1e3
    out["overhead_share"] = sum(run.dispatch_s) / max(1e-9, sum(run.dispatch_s) + sum(run.backend_s))
    out["concurrency_violations"] = sum(run.peak_running.get(a, 0) > n for a, n in run.limits.items())
    return out


def _engine() -> tuple[Engine, str]:
    """A fresh schema on the PostgreSQL server if one answers, else a temporary SQLite file."""
    from sqlalchemy import create_engine, text

    from zoetrope.db import make_engine
    from zoetrope.jobs.migrate import upgrade

    url = os.environ.get("ZOETROPE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    try:
        with create_engine(url, connect_args={"connect_timeout": 3}).begin() as c:
            c.execute(text("DROP SCHEMA IF EXISTS zt_bench_queue CASCADE"))
            c.execute(text("CREATE SCHEMA zt_bench_queue"))
        options = {"options": "-csearch_path=zt_bench_queue"}
        engine, name = create_engine(url, connect_args=options, pool_size=20, max_overflow=10), "postgresql"
    except Exception:
        import tempfile

        engine, name = make_engine(f"sqlite:///{tempfile.mkdtemp()}/queue.db"), "sqlite"
    upgrade(engine)
    return engine, name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--work-ms", type=float, default=20.0)
    parser.add_argument("--starvation-s", type=float, default=30.0,
                        help="a relaxed job waiting this long ranks with the fast lane (the server's default is 120 s; "
                             "shorter than the run, so the bound on relaxed waits shows)")
    args = parser.parse_args()
    engine, db = _engine()
    policy = dispatch.DispatchPolicy(starvation_seconds=args.starvation_s)
    limits = submit_jobs(engine, args.jobs)
    run = run_queue(engine, args.jobs, threads=args.threads, work_s=args.work_ms / 1e3, policy=policy)
    run.limits = limits
    result = {k: round(v, 4) if isinstance(v, float) else v for k, v in summary(run).items()}
    load = os.getloadavg()[0]
    meta = {
        "date": date.today().isoformat(),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load {load:.1f}",
        "database": db,
        "threads": args.threads,
        "backend": f"StubSteadyBackend ({args.work_ms:g} ms per job, bench/)",
        "starvation_seconds": policy.starvation_seconds,
    }
    print(f"{'metric':<28}{'value':>12}")
    for k, v in result.items():
        print(f"{k:<28}{v:>12}")
    out = REPO / "bench" / "results" / "queue.json"
    out.write_text(json.dumps({**meta, "results": result}, indent=2) + "\n")
    print(f"wrote {out.relative_to(REPO)} ({db}, load {load:.1f})")


if __name__ == "__main__":
    main()
