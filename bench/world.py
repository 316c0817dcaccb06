"""Training-world throughput: clips per second that the streaming dataset renders on one core.

Usage: python bench/world.py [--seconds 3] [--out bench/results/world.json]

Each row streams `WorldDataset` batches (scene sampling, captions and rendering included)
in this one process, pinned to one CPU core where the platform allows it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.table import Table

from zoetrope.world import WorldDataset

ROOT = Path(__file__).resolve().parent.parent
# (label, frames, height, width, batch)
CONFIGS = [
    ("video 16x64x64", 16, 64, 64, 64),
    ("image 1x64x64", 1, 64, 64, 256),
    ("wide 16x64x112", 16, 64, 112, 64),
    ("tall 16x112x64", 16, 112, 64, 64),
    ("video 32x128x128", 32, 128, 128, 16),
]


def _measure(frames: int, height: int, width: int, batch: int, seconds: float) -> dict:
    stream = iter(WorldDataset(0, frames=frames, height=height, width=width, batch=batch))
    next(stream)  # warm-up: caches and first allocations
    clips, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        clips += len(next(stream)[1])
    elapsed = time.perf_counter() - start
    return {"clips_per_s": clips / elapsed, "frames_per_s": clips * frames / elapsed, "clips": clips}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3.0, help="time spent on each configuration")
    ap.add_argument("--out", type=Path, default=ROOT / "bench/results/world.json")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

    report: dict = {
        "date": str(date.today()),
        "machine": platform.platform(),
        "processor": platform.processor(),
        "cores_used": 1,
        "results": {},
    }
    table = Table(title="Training world: WorldDataset throughput on one core")
    for col in ("configuration", "batch", "clips/s", "frames/s"):
        table.add_column(col, justify="left" if col == "configuration" else "right")
    for label, frames, height, width, batch in CONFIGS:
        row = _measure(frames, height, width, batch, args.seconds)
        report["results"][label] = {"frames": frames, "height": height, "width": width, "batch": batch, **row}
        table.add_row(label, str(batch), f"{row['clips_per_s']:.0f}", f"{row['frames_per_s']:.0f}")
    Console().print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
