"""The CPU a create costs the API: process CPU seconds of a real `zoetrope serve` over creates.

Starts `zoetrope serve --workers 0` (SQLite, the stub model of bench/stub_backend.py, the bench
plan of bench/api.py) and sends creates in a closed loop from CLIENTS keep-alive connections, each
with its own prompt, so moderation reads every one. After a warm-up it measures ROUNDS rounds of
COUNT creates: the CPU (user + system, from /proc) of the API process and of its prompt-embedding
child, divided by the creates, and the API's thread switches a create. CPU per request moves far
less with other work on the machine than latency does, so two versions of the code can be compared
in a few minutes where bench/api.py takes twelve and needs a quiet machine; the least of the
rounds is the figure to compare, the median says how much the machine moved it.

    python bench/create_cpu.py [--repo PATH] [--rounds 5] [--count 800] [--out FILE]

`--repo` serves another checkout (say an older commit's worktree) with this bench's own helpers.
"""

from __future__ import annotations

import argparse
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

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.api import BENCH_PLAN, Client, _bench_key, _cpu_model, cpu_seconds, create_body, prompts  # noqa: E402
from tests.api.conftest import free_port, wait_healthy  # noqa: E402

CLIENTS, WARMUP = 16, 300


def switches(pid: int) -> int:
    """Voluntary context switches of every thread of `pid` so far: each is a thread that blocked."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            status = (task / "status").read_text()
        except OSError:
            continue  # the thread ended while we looked
        total += sum(
            int(line.split()[1]) for line in status.splitlines() if line.startswith("voluntary_ctxt")
        )
    return total


async def creates(client: Client, texts, count: int) -> float:
    """`count` creates from CLIENTS connections at once, each sent when its last is answered; seconds."""
    left = count

    async def loop() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await client.json("POST", "/v1/videos", create_body(next(texts)))

    start = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(CLIENTS)))
    return time.perf_counter() - start


async def measure(port: int, key: str, pid: int, rounds: int, count: int) -> list[dict]:
    texts = iter(prompts())
    out = []
    async with Client("127.0.0.1", port, key, connections=CLIENTS) as client:
        await creates(client, texts, WARMUP)  # the principal cache, the moderator, the embedder child
        for _ in range(rounds):
            api0, embedder0, _ = cpu_seconds(pid)
            switches0 = switches(pid)
            elapsed = await creates(client, texts, count)
            api1, embedder1, _ = cpu_seconds(pid)
            out.append({
                "api_cpu_ms": (api1 - api0) / count * 1e3,
                "embedder_cpu_ms": (embedder1 - embedder0) / count * 1e3,
                "api_switches": (switches(pid) - switches0) / count,
                "creates_per_s": count / elapsed,
            })  # fmt: skip
    return out


def serve_and_measure(repo: Path, rounds: int, count: int) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="zoetrope-bench-", ignore_cleanup_errors=True) as tmp:
        data = Path(tmp)
        config = data / "bench.toml"
        defaults = resources.files("zoetrope.config").joinpath("defaults.toml").read_text()
        config.write_text(
            defaults
            + '\n[[models]]\nname = "stub-fast"\nbackend = "bench.stub_backend:StubFastBackend"\n'
            + BENCH_PLAN
        )
        key = _bench_key(data, config)
        port = free_port()
        env = {**os.environ, "ZOETROPE_DATA_DIR": str(data), "ZOETROPE_CONFIG_FILE": str(config),
               "ZOETROPE_WORKERS": "0", "PYTHONPATH": str(repo)}  # fmt: skip
        log = data / "serve.log"
        proc = subprocess.Popen(
            [sys.executable, "-m", "zoetrope", "serve", "--port", str(port), "--workers", "0"],
            env=env, cwd=repo, stdout=log.open("ab"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            wait_healthy(f"http://127.0.0.1:{port}", proc, log, timeout=600)
            return asyncio.run(measure(port, key, proc.pid, rounds, count))
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=REPO, help="the checkout to serve (default: this one)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--count", type=int, default=800, help="creates a round")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "create_cpu.json")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    rows = serve_and_measure(args.repo.resolve(), args.rounds, args.count)
    result = {}
    for name in rows[0]:
        values = [row[name] for row in rows]
        best = max(values) if name == "creates_per_s" else min(values)
        result[name] = {"best": round(best, 3), "median": round(statistics.median(values), 3)}
    print(f"{'metric':<20}{'best':>10}{'median':>10}")
    for name, v in result.items():
        print(f"{name:<20}{v['best']:>10}{v['median']:>10}")
    meta = {
        "date": date.today().isoformat(),
        "machine": f"{_cpu_model()}, {os.cpu_count()} cores",
        "python": platform.python_version(),
        # Other work on the machine moves every number: the load before and after the rounds.
        "load_average_1m": [round(load_before, 1), round(os.getloadavg()[0], 1)],
        "served": "this checkout" if args.repo.resolve() == REPO else str(args.repo.resolve()),
        "rounds": args.rounds,
        "creates_a_round": args.count,
        "clients": CLIENTS,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({**meta, "results": result, "rounds_measured": rows}, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
