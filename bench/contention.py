"""Sampling beside other work: torch's thread team spinning (OpenMP's default) against sleeping
(`OMP_WAIT_POLICY=PASSIVE`, which `zoetrope serve`, `worker` and `mcp` set unless told otherwise).

Each case runs in a fresh process (the policy is read when torch loads): one 64x64 window of the
bundled model at its default steps, timed after a warm-up, alone and beside one busy process per
core (a stand-in for a browser, a build or a training run on the same laptop).

    python bench/contention.py [--out bench/results/contention.json]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

CHILD = """
import time
from zoetrope.backends.bundled import BundledBackend
from zoetrope.diffusion.pipeline import SampleOptions
pipe = BundledBackend().pipeline()
opts = SampleOptions()
run = lambda: pipe.sample_latents("a red circle moves right", latent_frames=5, height=64, width=64, options=opts)
run()
best = float("inf")
for _ in range(3):
    t = time.perf_counter(); run(); best = min(best, time.perf_counter() - t)
print(best)
"""


def _spin(stop) -> None:
    x = 0
    while not stop.is_set():
        for _ in range(100_000):
            x += 1


def time_window(policy: str) -> float:
    env = {**{k: v for k, v in os.environ.items() if k != "GOMP_SPINCOUNT"}, "OMP_WAIT_POLICY": policy}
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("bench/results/contention.json"))
    args = ap.parse_args()
    rows = {}
    for load in ("alone", "beside busy cores"):
        stop, hogs = mp.Event(), []
        if load != "alone":
            hogs = [mp.Process(target=_spin, args=(stop,), daemon=True) for _ in range(os.cpu_count() or 1)]
            for h in hogs:
                h.start()
            time.sleep(0.5)
        try:
            for policy in ("ACTIVE", "PASSIVE"):
                rows[f"{load}, {policy.lower()}"] = time_window(policy)
        finally:
            stop.set()
            for h in hogs:
                h.join()
    table = Table(title=f"one 64x64 window · {platform.machine()} · {os.cpu_count()} cores")
    table.add_column("case")
    table.add_column("s per window", justify="right")
    for k, v in rows.items():
        table.add_row(k, f"{v:.2f}")
    Console().print(table)
    summary = {
        "passive_over_active_alone": rows["alone, passive"] / rows["alone, active"],
        "active_over_passive_beside_busy_cores": rows["beside busy cores, active"] / rows["beside busy cores, passive"],
    }
    Console().print(summary)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"date": time.strftime("%Y-%m-%d"), "machine": platform.machine(),
                                    "cpus": os.cpu_count(), "load_average_1m": round(os.getloadavg()[0], 1),
                                    "seconds_per_window": rows, **summary}, indent=2) + "\n")


if __name__ == "__main__":
    main()
