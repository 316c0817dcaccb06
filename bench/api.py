"""API benchmark on loopback: create latency at a fixed rate, retrieve throughput, dispatch latency.

Starts a real `zoetrope serve` (SQLite, 1 worker) with StubFastBackend (bench/stub_backend.py,
no model), drives it over keep-alive HTTP/1.1, prints a table and writes bench/results/api.json.
Every create has its own prompt (subject x action x setting x style, none repeated), so prompt
moderation embeds each one as it would for real traffic rather than answering from a cache.
Order: retrieves and dispatch with the queue empty, then the create burst, retrieves again
while the worker renders the burst's backlog (at its lower priority, as in any `serve`), then the
create burst again with one prompt repeated, which moderation answers from its verdict cache:
the platform's own cost, reported beside (not instead of) the distinct-prompt one. Last, a closed
loop of creates measures how many a second the server takes at most, and the CPU each one costs
the API process and the worker process (from /proc): what sizes a deployment. Garbage-collection
pauses over the measured phases, both processes together, come from the server's /metrics.
Bounded: about two thousand requests; a few minutes, most of it the worker rendering the bursts'
backlog before the closed loop starts (7 min on a 2-core EPYC, where renders wait out the bursts). Run: `.venv/bin/python bench/api.py`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import platform
import random
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
from tests.api.conftest import free_port, wait_healthy  # noqa: E402

CREATE_RATE, CREATE_COUNT = 200, 400
CAPACITY_SECONDS, CAPACITY_CLIENTS = 5.0, 16
RETRIEVE_SECONDS, RETRIEVE_CONCURRENCY = 3.0, 16
DISPATCH_COUNT = 30
TARGETS = {"create_p99_ms": 50.0, "retrieve_rps": 2000.0, "dispatch_p50_ms": 100.0}


CONNECTIONS = 64
# Whether the server reads new prompts in a child process (`zoetrope.jobs.embedder`; on by default).
EMBEDDER_CHILD = os.environ.get("ZOETROPE_MODERATION_PROCESS", "1").lower() not in ("0", "false", "no")
PROMPT_MIX = "distinct prompts (subject x action x setting x style)"
SUBJECTS = (
    "a red fox", "an old lighthouse", "a paper boat", "a hot air balloon", "a glass teapot", "a street market",
    "a sleepy cat", "a vintage tram", "a field of sunflowers", "a jazz trio", "a wooden windmill", "a snow owl",
    "a koi pond", "a city skyline", "a sailing yacht", "a stack of pancakes", "a desert caravan",
    "a mountain cabin", "a neon arcade", "a lavender farm", "a steam locomotive", "a lone astronaut",
    "a coral reef", "a bakery window",
)  # fmt: skip
ACTIONS = (
    "drifts slowly", "turns in a gentle circle", "glows softly", "sways in the wind", "rises into view",
    "sparkles in the light", "moves toward the camera", "fades into mist", "spins once", "rests quietly",
    "reflects the sky", "catches the first light",
)  # fmt: skip
SETTINGS = (
    "at dawn", "under a starry sky", "in light rain", "on a foggy morning", "at golden hour", "in late autumn",
    "beside a calm lake", "on a snowy evening", "in a busy harbor", "under paper lanterns",
)  # fmt: skip
STYLES = (
    "cinematic wide shot", "watercolor style", "shot on film", "slow aerial pan",
    "close-up, shallow depth of field", "stop motion look", "soft pastel colors", "documentary style",
)  # fmt: skip


def prompts(seed: int = 0) -> list[str]:
    """23,040 different prompts in a fixed random order (none of them numbers, which moderation reads)."""
    combos = list(itertools.product(SUBJECTS, ACTIONS, SETTINGS, STYLES))
    random.Random(seed).shuffle(combos)
    return [f"{s} {a} {w}, {style}" for s, a, w, style in combos]


def _steps(seconds: float) -> float:
    steps, stop = 0, time.perf_counter() + seconds
    while time.perf_counter() < stop:
        for _ in range(10_000):
            steps += 1
    return steps / seconds / 1e6


def speed_probe(seconds: float = 1.0) -> list[float]:
    """Millions of simple interpreter steps a second on each core at once, now: a shared or
    throttled machine shows it here. Taken before and after the run, it tells a slow run from a
    slow machine (on one 2-core VM the API's CPU per create swung 4.7-8.9 ms between runs of the
    same code)."""
    from concurrent.futures import ProcessPoolExecutor

    cores = os.cpu_count() or 1
    with ProcessPoolExecutor(cores) as pool:
        return sorted(pool.map(_steps, [seconds] * cores))


def _cpu_model() -> str:
    """The CPU's name as Linux reports it, else what `platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


class Client:
    """Keep-alive HTTP/1.1 over asyncio streams: the load generator. httpx spends about a
    millisecond of CPU a request, which on a 2-core machine would be taken from the server."""

    def __init__(self, host: str, port: int, key: str, connections: int = CONNECTIONS) -> None:
        self.host, self.port, self.key = host, port, key
        self._idle: asyncio.Queue = asyncio.Queue()
        self._count = connections

    async def __aenter__(self) -> Client:
        for _ in range(self._count):
            self._idle.put_nowait(await asyncio.open_connection(self.host, self.port))
        return self

    async def __aexit__(self, *exc) -> None:
        while not self._idle.empty():
            self._idle.get_nowait()[1].close()

    async def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
        data = json.dumps(body).encode() if body is not None else b""
        head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nAuthorization: Bearer {self.key}\r\n"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
        message = head.encode() + b"\r\n" + data
        reader, writer = await self._idle.get()
        try:
            try:
                response = await self._exchange(reader, writer, message)
            except (asyncio.IncompleteReadError, ConnectionError):
                # The server closes connections idle past its keep-alive timeout; a request
                # that met a closed connection was never read, so it is sent again on a new one.
                writer.close()
                reader, writer = await asyncio.open_connection(self.host, self.port)
                response = await self._exchange(reader, writer, message)
        except BaseException:
            writer.close()
            self._idle.put_nowait(await asyncio.open_connection(self.host, self.port))
            raise
        self._idle.put_nowait((reader, writer))
        return response

    @staticmethod
    async def _exchange(reader, writer, message: bytes) -> tuple[int, bytes]:
        writer.write(message)
        status_line, *lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        length = next(
            int(v) for k, _, v in (h.partition(":") for h in lines) if k.lower() == "content-length"
        )
        return int(status_line.split()[1]), await reader.readexactly(length)

    async def json(self, method: str, path: str, body: dict | None = None) -> dict:
        status, payload = await self.request(method, path, body)
        if status >= 400:
            raise RuntimeError(f"{method} {path} answered {status}: {payload.decode()}")
        return json.loads(payload)


def create_body(prompt: str) -> dict:
    return {"prompt": prompt, "model": "stub-fast", "size": "64x64", "seconds": "1"}


async def create_open_loop(client: Client, texts: list[str]) -> list[float]:
    """Fire CREATE_COUNT creates at CREATE_RATE per second regardless of responses (open loop)."""
    latencies: list[float] = []

    async def one(prompt: str) -> None:
        t = time.perf_counter()
        await client.json("POST", "/v1/videos", create_body(prompt))
        latencies.append(time.perf_counter() - t)

    start = time.perf_counter()
    tasks = []
    for i, prompt in enumerate(texts[:CREATE_COUNT]):
        await asyncio.sleep(max(0.0, start + i / CREATE_RATE - time.perf_counter()))
        tasks.append(asyncio.create_task(one(prompt)))
    await asyncio.gather(*tasks)
    return latencies


def cpu_seconds(pid: int) -> tuple[float, float, float]:
    """CPU seconds (user + system) used so far by process `pid`, by its prompt-embedding child
    (`zoetrope.jobs.embedder`, part of the API's cost), and by its other child processes (the worker)."""

    def parse(stat: str) -> tuple[int, float]:
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (comm) "; comm may hold spaces
        return int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    own, embedder, others = parse(Path(f"/proc/{pid}/stat").read_text())[1], 0.0, 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid, used = parse((entry / "stat").read_text())
                if ppid != pid:
                    continue
                if b"zoetrope.jobs.embedder" in (entry / "cmdline").read_bytes():
                    embedder += used
                else:
                    others += used
            except (OSError, ValueError, IndexError):
                continue  # exited while we looked
    return own, embedder, others


async def create_capacity(client: Client, texts: list[str], pid: int) -> dict:
    """Creates a second that CAPACITY_CLIENTS clients get in a closed loop (each sends its next create
    when the last one is answered), distinct prompts, and the CPU each create cost the API process
    and the worker process (measured once the worker has rendered all of them)."""
    # The bursts before left a backlog: the loop starts on a drained queue.
    await wait_done(
        client, (await client.json("POST", "/v1/videos", create_body(texts.pop())))["id"], timeout=900
    )
    prompts_left = iter(texts)
    done, last = 0, ""
    api0, embedder0, worker0 = cpu_seconds(pid)
    stop = time.perf_counter() + CAPACITY_SECONDS

    async def loop() -> None:
        nonlocal done, last
        while time.perf_counter() < stop:
            last = (await client.json("POST", "/v1/videos", create_body(next(prompts_left))))["id"]
            done += 1

    start = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(CAPACITY_CLIENTS)))
    elapsed = time.perf_counter() - start
    api1, embedder1, _ = cpu_seconds(pid)
    await wait_done(client, last, timeout=900)  # the queue is first in, first out: the others are done
    _, _, worker1 = cpu_seconds(pid)
    return {
        "create_capacity_per_s": done / elapsed,
        "create_api_cpu_ms": (api1 - api0 + embedder1 - embedder0) / done * 1e3,
        "create_embedder_cpu_ms": (embedder1 - embedder0) / done * 1e3,
        "create_worker_cpu_ms": (worker1 - worker0) / done * 1e3,
    }


async def retrieve_closed_loop(client: Client, video_id: str) -> float:
    done = 0
    stop = time.perf_counter() + RETRIEVE_SECONDS

    async def loop() -> None:
        nonlocal done
        while time.perf_counter() < stop:
            await client.json("GET", f"/v1/videos/{video_id}")
            done += 1

    t = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(RETRIEVE_CONCURRENCY)))
    return done / (time.perf_counter() - t)


async def wait_done(client: Client, video_id: str, timeout: float = 120) -> None:
    deadline = time.perf_counter() + timeout
    while (await client.json("GET", f"/v1/videos/{video_id}"))["status"] not in ("completed", "failed"):
        if time.perf_counter() > deadline:
            raise RuntimeError(f"{video_id} did not finish within {timeout} s")
        await asyncio.sleep(0.02)


async def dispatch_latency(client: Client, db: Path, texts: list[str]) -> list[float]:
    """Submit into an idle queue, one job at a time (the next once the last has finished);
    created_at → started_at from the job rows."""
    import sqlite3

    ids = []
    for prompt in texts[:DISPATCH_COUNT]:
        ids.append((await client.json("POST", "/v1/videos", create_body(prompt)))["id"])
        await wait_done(client, ids[-1])
    con = sqlite3.connect(db)
    rows = con.execute(
        f"select started_at - created_at from jobs where id in ({','.join('?' * len(ids))}) and started_at is not null",
        ids,
    ).fetchall()
    return [r[0] for r in rows]


async def metric_samples(client: Client) -> list[tuple[str, float]]:
    """(name with labels, value) of every sample /metrics reports."""
    status, text = await client.request("GET", "/metrics")
    if status != 200:
        raise RuntimeError(f"GET /metrics answered {status}")
    return [
        (name, float(value))
        for name, _, value in (line.rpartition(" ") for line in text.decode().splitlines())
        if name and not name.startswith("#")
    ]


async def settled(client: Client, processes: int = 2, timeout: float = 120) -> None:
    """Wait until the API and worker processes have moved what they loaded out of the garbage
    collector's passes (`zoetrope.heap.settle`: one last long collection each, not measured), and
    the API's prompt-embedding child, where the server runs one, reads prompts."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        samples = await metric_samples(client)
        frozen = [v for k, v in samples if k.startswith("zoetrope_gc_frozen_objects{")]
        embedder = [v for k, v in samples if k.startswith("zoetrope_prompt_embedder_ready")]
        if sum(v > 0 for v in frozen) >= processes and (
            not EMBEDDER_CHILD or not embedder or any(v > 0 for v in embedder)
        ):
            await asyncio.sleep(1.5)  # the pause of that collection reaches /metrics within a second
            return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"the server's processes did not settle within {timeout} s")


async def gc_pauses(client: Client) -> tuple[float, float]:
    """Garbage-collection pauses so far, API and worker processes together: how many lasted over
    50 ms, and their total in ms."""
    over = total = 0.0
    for name, value in await metric_samples(client):
        if name.startswith("zoetrope_gc_pause_seconds_count"):
            over += value
        elif name.startswith("zoetrope_gc_pause_seconds_bucket") and 'le="0.05"' in name:
            over -= value
        elif name.startswith("zoetrope_gc_pause_seconds_sum"):
            total += value * 1e3
    return over, total


async def run(port: int, key: str, db: Path, pid: int) -> dict:
    texts = prompts()
    async with Client("127.0.0.1", port, key) as client:
        # Warm up: the principal cache, the moderator, the worker's first job (none of it measured).
        await client.json("GET", "/v1/models")
        await wait_done(client, (await client.json("POST", "/v1/videos", create_body(texts.pop())))["id"])
        await settled(client)
        gc_before = await gc_pauses(client)
        video_id = (await client.json("GET", "/v1/videos?limit=1"))["data"][0]["id"]
        rps = await retrieve_closed_loop(client, video_id)  # the worker idle, the queue empty
        dispatch = await dispatch_latency(client, db, texts[:DISPATCH_COUNT])
        create = await create_open_loop(client, texts[DISPATCH_COUNT:])
        # Polled again while the worker renders the burst's backlog, as clients poll a busy server.
        rps_busy = await retrieve_closed_loop(client, video_id)
        # The same burst with one prompt over and over: moderation answers from its verdict cache,
        # so this is the platform's own cost (admission, the job row, HTTP), not the prompt check's.
        repeated = await create_open_loop(client, [texts[-1]] * CREATE_COUNT)
        capacity = await create_capacity(client, texts[DISPATCH_COUNT + CREATE_COUNT : -1], pid)
        gc_after = await gc_pauses(client)
    return {
        "create_p50_ms": statistics.median(create) * 1e3,
        "create_p99_ms": pct(create, 0.99) * 1e3,
        "create_rate_per_s": CREATE_RATE,
        "create_repeated_prompt_p50_ms": statistics.median(repeated) * 1e3,
        "create_repeated_prompt_p99_ms": pct(repeated, 0.99) * 1e3,
        "retrieve_rps": rps,
        "retrieve_rps_while_rendering": rps_busy,
        "dispatch_p50_ms": statistics.median(dispatch) * 1e3,
        "dispatch_p99_ms": pct(dispatch, 0.99) * 1e3,
        **capacity,
        "gc_pauses_over_50ms": gc_after[0] - gc_before[0],
        "gc_pause_total_ms": gc_after[1] - gc_before[1],
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
    # ignore_cleanup_errors: after an error the worker process may still be writing a video when
    # serve has exited, and the clean-up would hide the error that stopped the bench.
    with tempfile.TemporaryDirectory(prefix="zoetrope-bench-", ignore_cleanup_errors=True) as tmp:
        data = Path(tmp)
        config = data / "bench.toml"
        defaults = resources.files("zoetrope.config").joinpath("defaults.toml").read_text()
        # A plan without request quotas or a concurrency cap: the bench measures the server, not the
        # limits that protect it (those answer 429 within microseconds, which would flatter it).
        config.write_text(
            defaults
            + '\n[[models]]\nname = "stub-fast"\nbackend = "bench.stub_backend:StubFastBackend"\n'
            + BENCH_PLAN
        )
        keys = {"alice": _bench_key(data, config)}
        probe_before = speed_probe()  # before the server starts: nothing of ours is running
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
            result = asyncio.run(run(port, keys["alice"], data / "zoetrope.db", proc.pid))
            probe_after = speed_probe()
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    result = {k: round(v, 2) for k, v in result.items()}
    # Each core's interpreter steps a second (millions), slowest first, before and after the run.
    result["speed_probe_before_msteps"] = [round(v, 1) for v in probe_before]
    result["speed_probe_after_msteps"] = [round(v, 1) for v in probe_after]
    meta = {
        "date": date.today().isoformat(),
        "machine": f"{_cpu_model()}, {os.cpu_count()} cores",
        "load_average_1m": round(os.getloadavg()[0], 1),  # other work on the machine skews every number
        "python": platform.python_version(),
        "backend": "StubFastBackend (bench/)",
        "prompts": PROMPT_MIX,
    }
    print(f"{'metric':<32}{'value':>12}{'target':>12}")
    for k, v in result.items():
        target = TARGETS.get(k)
        print(f"{k:<32}{str(v):>12}{'' if target is None else target:>12}")
    out = REPO / "bench" / "results" / "api.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({**meta, "results": result, "targets": TARGETS}, indent=2) + "\n")
    print(f"wrote {out.relative_to(REPO)}")


if __name__ == "__main__":
    main()
