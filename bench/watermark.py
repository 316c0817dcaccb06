"""Invisible watermark robustness: found rate and payload accuracy under attacks, false positives.

Usage: python bench/watermark.py [--marked 20] [--clean 300] [--frames 16 32] [--out bench/results/watermark.json]

Clips are procedural (moving discs over a gradient, like the bundled model's world) at 64x64 and
128x128, 16 and 32 frames at 8 fps (2 and 4 s). Each marked clip is released as Zoetrope does
(H.264 CRF 18, the mark in the design and at the strength for its size), then attacked: re-encoded
at CRF 28, resized to half size, cropped by 10 % (kept at the cropped size, or scaled back up),
each followed by a CRF 28 encode. Copies turned or framed (flipped either way, transposed, 16 px
bars added above and below or either side, then CRF 28) are read with `find_watermark`, the search
`verify` runs (every quarter turn of the pictures and of their mirror image, and the pictures less
flat bars). Clean clips (never marked, also released at CRF 18) measure false positives of both:
any `found` on a clean clip counts.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np
from PIL import Image
from rich.console import Console
from rich.table import Table

from zoetrope.media import encode_mp4, read_frames
from zoetrope.safety.watermark import (
    SEARCH_BARS,
    Z_UNCROPPED,
    detect_watermark,
    embed_watermark,
    find_watermark,
    payload_for,
)

ROOT = Path(__file__).resolve().parent.parent


def clip(seed: int, size: int, frames: int = 16) -> np.ndarray:
    """A procedural clip: a tilted gradient background and three moving discs, uint8 (T, H, W, 3)."""
    rng = np.random.default_rng(seed)
    video = np.zeros((frames, size, size, 3), np.float32) + rng.integers(0, 256, 3)
    video += np.linspace(-40, 40, size)[None, None, :, None] * rng.uniform(-1, 1)
    yy, xx = np.mgrid[0:size, 0:size]
    for _ in range(3):
        colour, radius = rng.integers(0, 256, 3), rng.uniform(0.08, 0.25) * size
        x0, y0, vx, vy = *rng.uniform(0, size, 2), *rng.uniform(-0.04, 0.04, 2) * size
        for t in range(frames):
            video[t][(xx - x0 - vx * t) ** 2 + (yy - y0 - vy * t) ** 2 < radius**2] = colour
    return np.clip(video, 0, 255).astype(np.uint8)


def h264(frames: np.ndarray, crf: int = 28) -> np.ndarray:
    return read_frames(encode_mp4(frames, fps=8, crf=crf)).frames


def resize(frames: np.ndarray, factor: float) -> np.ndarray:
    h, w = frames.shape[1:3]
    size = (max(2, round(w * factor)), max(2, round(h * factor)))
    return np.stack([np.asarray(Image.fromarray(f).resize(size, Image.Resampling.BILINEAR)) for f in frames])


def crop(frames: np.ndarray, fraction: float = 0.1, scale_back: bool = False) -> np.ndarray:
    """Cut `fraction` of each side's length off (off-centre), optionally scaling back to full size."""
    h, w = frames.shape[1:3]
    top, left = int(h * fraction * 0.3), int(w * fraction * 0.7)
    out = frames[:, top : top + h - int(h * fraction), left : left + w - int(w * fraction)]
    return resize(out, w / out.shape[2]) if scale_back else out


ATTACKS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "released (CRF 18)": lambda v: v,
    "re-encode CRF 28": h264,
    "half size + CRF 28": lambda v: h264(resize(v, 0.5)),
    "10% crop + CRF 28": lambda v: h264(crop(v)),
    "10% crop, rescaled + CRF 28": lambda v: h264(crop(v, scale_back=True)),
}


def bars(frames: np.ndarray, pixels: int = 16, axis: int = 1) -> np.ndarray:
    """Black bars `pixels` wide added on both sides: above and below (axis 1), or either side (2)."""
    pad = [(0, 0)] * 4
    pad[axis] = (pixels, pixels)
    return np.pad(frames, pad)


# Read with `find_watermark`, the search `verify` runs: a copy turned, mirrored or framed.
GEOMETRY: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "mirrored left-right + CRF 28": lambda v: h264(v[:, :, ::-1]),
    "mirrored top-bottom + CRF 28": lambda v: h264(v[:, ::-1]),
    "transposed + CRF 28": lambda v: h264(v.transpose(0, 2, 1, 3)),
    "16 px letterbox + CRF 28": lambda v: h264(bars(v, axis=1)),
    "16 px pillarbox + CRF 28": lambda v: h264(bars(v, axis=2)),
}


def psnr(marked: np.ndarray, original: np.ndarray) -> float:
    return float(10 * np.log10(255**2 / np.mean((marked.astype(float) - original) ** 2)))


def marked_run(size: int, frames: int, n: int) -> dict:
    """Found rates, wrong payloads, PSNR and detection time over `n` marked clips."""
    counts = {name: [0, 0] for name in [*ATTACKS, *GEOMETRY]}  # right, wrong
    psnrs, timings = [], []
    for i in range(n):
        original = clip(1000 + i, size, frames)
        generation_id = f"video_{size}_{i}"
        marked = embed_watermark(original, generation_id)
        psnrs.append(psnr(marked, original))
        released = h264(marked, crf=18)
        for name, attack in ATTACKS.items():
            attacked = attack(released)
            start = time.perf_counter()
            result = detect_watermark(attacked)
            timings.append(time.perf_counter() - start)
            if result.found:
                counts[name][result.payload != payload_for(generation_id).hex()] += 1
        for name, attack in GEOMETRY.items():
            result = find_watermark(np.ascontiguousarray(attack(released)))
            if result.found:
                counts[name][result.payload != payload_for(generation_id).hex()] += 1
    return {
        "psnr_db": float(np.mean(psnrs)),
        "found_rate": {name: right / n for name, (right, _) in counts.items()},
        "wrong_payload": {name: wrong for name, (_, wrong) in counts.items()},
        "detect_seconds_mean": float(np.mean(timings)),
    }


def clean_run(size: int, frames: int, n: int) -> dict:
    """False positives over `n` clean clips, and how near the detector's bars they came."""
    released = [h264(clip(i, size, frames), crf=18) for i in range(n)]
    clean = [detect_watermark(v) for v in released]
    start = time.perf_counter()
    searched = [find_watermark(v) for v in released]
    return {
        "clean_clips": n,
        "clean_false_positives": sum(r.found for r in clean),
        "clean_false_positives_search": sum(r.found for r in searched),
        "search_seconds_clean_mean": (time.perf_counter() - start) / n,
        # Clean clips where a payload was read at all (each read passes the CRC by chance about once
        # in 4,096, the decoder trying 16 candidates): the false-positive rate's own scale. Each
        # design's search reads past its bar (SEARCH_BARS), the uncut position past Z_UNCROPPED.
        "clean_payload_reads": sum(r.reads > 0 for r in clean),
        # The highest search peak less its design's bar (a read where >= 0), and at the uncut position.
        "clean_sync_peak_over_bar_max": float(max(r.z - SEARCH_BARS[r.design or "wide"] for r in clean)),
        "clean_uncropped_peak_max": float(max(r.z_uncropped for r in clean)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--marked", type=int, default=40, help="marked clips per size and length")
    ap.add_argument("--clean", type=int, default=300, help="clean clips per size and length")
    ap.add_argument("--sizes", type=int, nargs="+", default=[64, 128])
    ap.add_argument("--frames", type=int, nargs="+", default=[16, 32], help="clip lengths (frames at 8 fps)")
    ap.add_argument("--out", type=Path, default=ROOT / "bench/results/watermark.json")
    args = ap.parse_args()

    started = time.perf_counter()
    report: dict = {"date": str(date.today()), "machine": platform.platform(), "sizes": {}}
    columns = [(size, frames) for size in args.sizes for frames in args.frames]
    for size in args.sizes:
        runs = {
            f: {**marked_run(size, f, args.marked), **clean_run(size, f, args.clean)} for f in args.frames
        }
        report["sizes"][size] = {
            "psnr_db": float(np.mean([run["psnr_db"] for run in runs.values()])),
            "frames": runs,
        }
    table = Table(title="Invisible watermark: found with the right payload (wrong payloads in brackets)")
    table.add_column("attack")
    for size, frames in columns:
        table.add_column(f"{size}x{size}, {frames} frames", justify="right")
    for name in [*ATTACKS, *GEOMETRY]:
        cells = []
        for size, frames in columns:
            run = report["sizes"][size]["frames"][frames]
            wrong = run["wrong_payload"][name]
            cells.append(f"{run['found_rate'][name]:.0%}" + (f" ({wrong})" if wrong else ""))
        table.add_row(name, *cells)
    runs = [report["sizes"][size]["frames"][frames] for size, frames in columns]
    table.add_row("PSNR of the mark", *(f"{run['psnr_db']:.1f} dB" for run in runs))
    table.add_row(
        "clean clips with a payload read (search peak ≥ "
        + " / ".join(f"{bar} {design}" for design, bar in SEARCH_BARS.items())
        + f", or uncut ≥ {Z_UNCROPPED})",
        *(f"{run['clean_payload_reads']} / {args.clean}" for run in runs),
    )
    table.add_row(
        "clean clips' highest search peak less its bar / uncut position",
        *(
            f"{run['clean_sync_peak_over_bar_max']:+.1f} / {run['clean_uncropped_peak_max']:.1f}"
            for run in runs
        ),
    )
    table.add_row(
        "false positives on clean clips", *(f"{run['clean_false_positives']} / {args.clean}" for run in runs)
    )
    table.add_row(
        "false positives on clean clips, verify's search",
        *(f"{run['clean_false_positives_search']} / {args.clean}" for run in runs),
    )
    table.add_row(
        "detection per clip",
        *(f"{run['detect_seconds_mean']:.3f} s" for run in runs),
    )
    table.add_row(
        "verify's search per clean clip (every try)",
        *(f"{run['search_seconds_clean_mean']:.3f} s" for run in runs),
    )
    report["clean_clips_total"] = len(runs) * args.clean
    report["clean_false_positives_total"] = sum(run["clean_false_positives"] for run in runs)
    report["clean_false_positives_search_total"] = sum(run["clean_false_positives_search"] for run in runs)
    start = time.perf_counter()
    embed_watermark(clip(0, 128, frames=16), "video_timing")
    report["embed_ms_per_128px_frame"] = 1000 * (time.perf_counter() - start) / 16
    report["bench_seconds"] = time.perf_counter() - started
    console = Console(width=200)
    console.print(table)
    console.print(
        f"{args.marked} marked clips per size and length, {args.clean} clean clips per size; "
        f"{report['bench_seconds']:.0f} s in all"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
