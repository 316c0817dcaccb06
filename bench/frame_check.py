"""Output frame check on our own kind of video: how often the default classifier blocks it.

Usage: python bench/frame_check.py [--clips 120] [--out bench/results/frame_check.json]

Clips are scenes of the procedural world (zoetrope/world: the world the bundled model learns to
draw) rendered at 64x64 and 128x128, 16 frames, half of each size. Every clip is harmless, so
any block is a false positive. The table gives the blocked share at the shipped threshold and
the highest score seen, with the share that thresholds below it would block.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import date
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from zoetrope.safety.frames import NSFW_THRESHOLD, check_frames, default_classifier
from zoetrope.world import render, sample_scene

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=120)
    ap.add_argument("--out", type=Path, default=ROOT / "bench/results/frame_check.json")
    args = ap.parse_args()

    classifier = default_classifier()
    rng = np.random.default_rng(7)
    scores: dict[int, list[float]] = {64: [], 128: []}
    start = time.perf_counter()
    for i in range(args.clips):
        size = 64 if i % 2 else 128
        frames = render(sample_scene(rng), frames=16, height=size, width=size)
        scores[size].append(check_frames(frames, classifier=classifier).scores["sexual"])
    seconds = (time.perf_counter() - start) / args.clips

    report: dict = {"date": str(date.today()), "machine": platform.platform(), "threshold": NSFW_THRESHOLD,
                    "seconds_per_clip": seconds, "sizes": {}}  # fmt: skip
    table = Table(title=f"Frame check (open_nsfw) on {args.clips} procedural-world clips, all harmless")
    for col in ("size", "clips", f"blocked at {NSFW_THRESHOLD}", "max score", "median", "blocked at 0.5"):
        table.add_column(col, justify="right")
    for size, values in scores.items():
        v = np.array(values)
        row = {
            "clips": len(v), "false_positive_rate": float((v >= NSFW_THRESHOLD).mean()),
            "max_score": float(v.max()), "median_score": float(np.median(v)),
            "blocked_at_0.5": float((v >= 0.5).mean()),
        }  # fmt: skip
        report["sizes"][size] = row
        table.add_row(f"{size}x{size}", str(len(v)), f"{row['false_positive_rate']:.1%}", f"{row['max_score']:.3f}",
                      f"{row['median_score']:.3f}", f"{row['blocked_at_0.5']:.1%}")  # fmt: skip
    everything = np.concatenate([np.array(v) for v in scores.values()])
    report["false_positive_rate"] = float((everything >= NSFW_THRESHOLD).mean())
    console = Console()
    console.print(table)
    console.print(f"false positives overall: {report['false_positive_rate']:.1%}; {seconds:.2f} s per clip")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
