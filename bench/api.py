"""API benchmark on loopback: create latency at a fixed rate, retrieve throughput, dispatch latency.

Starts a real `zoetrope serve` (SQLite, 1 worker) with StubFastBackend (bench/stub_backend.py,
no model), drives it with httpx, prints a table and writes bench/results/api.json.
Bounded: a few hundred requests and about 15 seconds. Run: `.venv/bin/python bench/api.py`.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from importlib import resources
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.api.conftest import free_port, wait_healthy  # noqa: E402

CREATE_RATE, CREATE_COUNT = 200, 400
RETRIEVE_SECONDS, RETRIEVE_CONCURRENCY = 3.0, 16
DISPATCH_COUNT = 30
TARGETS = {"create_p99_ms": 50.0, "retrieve_rps": 2000.0, "dispatch_p50_ms": 100.0}


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def create_open_loop(client: httpx.AsyncClient) -> list[float]:
    """Fire CREATE_COUNT creates at CREATE_RATE per second regardless of responses (open loop)."""
    latencies: list[float] = []

    async def one(i: int) -> None:
        t = time.perf_counter()
        r = await client.post(
            "/v1/videos",
            json={"prompt": "a red ball bounces", "model": "stub-fast", "size": "64x64", "seconds": "1"},
        )
        if r.status_code >= 400:
            raise RuntimeError(f"create answered {r.status_code}: {r.text}")
        latencies.append(time.perf_counter() - t)

    start = time.perf_counter()
    tasks = []
    for i in range(CREATE_COUNT):
        await asyncio.sleep(max(0.0, start + i / CREATE_RATE - time.perf_counter()))
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    return latencies


async def retrieve_closed_loop(client: httpx.AsyncClient, video_id: str) -> float:
    done = 0
    stop = time.perf_counter() + RETRIEVE_SECONDS

    async def loop() -> None:
        nonlocal done
        while time.perf_counter() < stop:
            (await client.get(f"/v1/videos/{video_id}")).raise_for_status()
            done += 1

    t = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(RETRIEVE_CONCURRENCY)))
    return done / (time.perf_counter() - t)


async def dispatch_latency(client: httpx.AsyncClient, db: Path) -> list[float]:
    """Submit one job at a time into an idle queue; created_at → started_at from the job rows."""
    import sqlite3

    ids = []
    for i in range(DISPATCH_COUNT):
        r = await client.post(
            "/v1/videos", json={"prompt": "a blue square slides", "model": "stub-fast", "size": "64x64", "seconds": "1"}
        )
        ids.append(r.json()["id"])
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)
    con = sqlite3.connect(db)
    rows = con.execute(
        f"select started_at - created_at from jobs where id in ({','.join('?' * len(ids))}) and started_at is not null",
        ids,
    ).fetchall()
    return [r[0] for r in rows]


async def drain(client: httpx.AsyncClient, timeout: float = 120) -> None:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        page = (await client.get("/v1/videos", params={"limit": 100})).json()["data"]
        if all(v["status"] in ("completed", "failed") for v in page):
            return
        await asyncio.sleep(0.5)


async def run(base: str, key: str, db: Path) -> dict:
    headers = {"authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=30) as client:
        await client.get("/v1/models")  # warm the principal cache and the registry
        create = await create_open_loop(client)
        await drain(client)
        video_id = (await client.get("/v1/videos", params={"limit": 1})).json()["data"][0]["id"]
        rps = await retrieve_closed_loop(client, video_id)
        dispatch = await dispatch_latency(client, db)
    return {
        "create_p50_ms": statistics.median(create) * 1e3,
        "create_p99_ms": pct(create, 0.99) * 1e3,
        "create_rate_per_s": CREATE_RATE,
        "retrieve_rps": rps,
        "dispatch_p50_ms": statistics.median(dispatch) * 1e3,
        "dispatch_p99_ms": pct(dispatch, 0.99) * 1e3,
    }


BENCH_PLAN = """
[plans.bench]
price_usd = 0
video = true
max_seconds = 20
max_resolution = 1080
images = "unlimited"
lane = "fast"
lanes = ["fast", "relaxed"]
concurrent_jobs = 100000
watermark_free = true
monthly_credits = 100000000
"""


def _bench_key(data: Path, config: Path) -> str:
    """One account on the bench plan, with a key, in the server's database."""
    from zoetrope.config import get_config
    from zoetrope.settings import get_settings

    os.environ["ZOETROPE_CONFIG_FILE"] = str(config)  # the plan lives in the bench's config
    get_settings.cache_clear()
    get_config.cache_clear()
    from zoetrope.access.accounts import create_account
    from zoetrope.access.keys import create_key
    from zoetrope.db import make_engine, transaction
    from zoetrope.jobs.migrate import upgrade

    engine = make_engine(f"sqlite:///{data / 'zoetrope.db'}")
    upgrade(engine)
    with transaction(engine, immediate=True) as s:
        key = create_key(s, create_account(s, "bench", plan="bench").id)[1]
    engine.dispose()
    return key


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="zoetrope-bench-") as tmp:
        data = Path(tmp)
        config = data / "bench.toml"
        defaults = resources.files("zoetrope.config").joinpath("defaults.toml").read_text()
        # A plan without request quotas or a concurrency cap: the bench measures the server, not the
        # limits that protect it (those answer 429 within microseconds, which would flatter it).
        config.write_text(
            defaults + '\n[[models]]\nname = "stub-fast"\nbackend = "bench.stub_backend:StubFastBackend"\n'
            + BENCH_PLAN
        )
        keys = {"alice": _bench_key(data, config)}
        port = free_port()
        env = {
            **os.environ,
            "ZOETROPE_DATA_DIR": str(data),
            "ZOETROPE_CONFIG_FILE": str(config),
            "ZOETROPE_WORKERS": "1",
            "PYTHONPATH": str(REPO),
        }
        log = data / "serve.log"
        proc = subprocess.Popen(
            [sys.executable, "-m", "zoetrope", "serve", "--port", str(port)],
            env=env,
            cwd=REPO,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        try:
            wait_healthy(f"http://127.0.0.1:{port}", proc, log, timeout=600)  # slow on a busy machine
            result = asyncio.run(run(f"http://127.0.0.1:{port}", keys["alice"], data / "zoetrope.db"))
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    result = {k: round(v, 2) for k, v in result.items()}
    meta = {
        "date": date.today().isoformat(),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "load_average_1m": round(os.getloadavg()[0], 1),  # other work on the machine skews every number
        "python": platform.python_version(),
        "backend": "StubFastBackend (bench/)",
    }
    print(f"{'metric':<20}{'value':>12}{'target':>12}")
    for k, v in result.items():
        target = TARGETS.get(k)
        print(f"{k:<20}{v:>12}{'' if target is None else target:>12}")
    out = REPO / "bench" / "results" / "api.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({**meta, "results": result, "targets": TARGETS}, indent=2) + "\n")
    print(f"wrote {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
