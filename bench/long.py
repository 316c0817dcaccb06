"""Long videos: peak memory and time per second of video, 4 s against 60 s, through `zoetrope generate`'s path.

Usage: python bench/long.py [--seconds 4 60] [--steps 16] [--weights DIR] [--out bench/results/long.json]

Each duration runs in a fresh process that generates at the model's native 64x64 and streams the
frames, resized to 128x128, into an MP4 (the CLI's `write_video`): peak RSS is that process's
maximum resident set. Without --weights: the bundled weights if present, else random weights of
the bundled sizes (VAE "S", DiT "S"), which cost the same compute and memory as trained ones.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

# bench/ holds scripts named like stdlib modules (queue.py): keep it off the import path.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SIZE = (128, 128)


def random_weights(out: Path) -> Path:
    """Random-init weights of the bundled sizes, in the bundled layout."""
    import torch
    from safetensors.torch import save_file

    from zoetrope.backends.bundled import NATIVE_SIZES
    from zoetrope.model.dit import DIT_CONFIGS, DiT
    from zoetrope.model.vae import VAE_CONFIGS, VideoVAE

    torch.manual_seed(0)
    vae, dit = VideoVAE(VAE_CONFIGS["S"]), DiT(DIT_CONFIGS["S"])
    out.mkdir(parents=True, exist_ok=True)
    save_file({k: v.half().contiguous() for k, v in vae.state_dict().items()}, out / "vae.safetensors")
    save_file({k: v.half().contiguous() for k, v in dit.state_dict().items()}, out / "dit.safetensors")
    meta = {"vae": vae.cfg.to_dict(), "dit": dit.cfg.to_dict(), "sizes": NATIVE_SIZES, "default_steps": 16}
    (out / "config.json").write_text(json.dumps(meta))
    return out


def child(seconds: float, steps: int, out: Path) -> None:
    """Generate one video the way the CLI does and print its timing as JSON."""
    from zoetrope.backends.base import GenerationRequest
    from zoetrope.backends.bundled import BundledBackend
    from zoetrope.cli.media_io import write_video
    from zoetrope.cli.tasks import native_size

    backend = BundledBackend()
    backend.pipeline()  # weights load outside the timed part
    w, h = native_size(backend, *SIZE)
    request = GenerationRequest(prompt="a red ball moves right", width=w, height=h, seconds=seconds, seed=0,
                                steps=steps)
    start = time.perf_counter()
    frames = write_video(backend, request, out, size=SIZE)
    print(json.dumps({"wall_s": time.perf_counter() - start, "frames": frames, "native": f"{w}x{h}"}))


def measure(seconds: float, steps: int, weights: Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "ZOETROPE_WEIGHTS_DIR": str(weights)}
        cmd = [sys.executable, __file__, "--child", str(seconds), "--steps", str(steps), "--out", f"{tmp}/v.mp4"]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)
        stdout = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        if os.waitstatus_to_exitcode(status):
            raise SystemExit(f"{seconds} s run failed")
        result = json.loads(stdout.strip().splitlines()[-1])
    result.update(seconds=seconds, peak_rss_gib=usage.ru_maxrss / 2**20, s_per_video_s=result["wall_s"] / seconds)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, nargs="+", default=[4.0, 60.0])
    ap.add_argument("--steps", type=int, default=16, help="denoising steps per window")
    ap.add_argument("--weights", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=ROOT / "bench/results/long.json")
    ap.add_argument("--child", type=float, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        return child(args.child, args.steps, args.out)

    from zoetrope.backends.bundled import weights_dir

    with tempfile.TemporaryDirectory() as tmp:
        weights = args.weights or (weights_dir() if (weights_dir() / "dit.safetensors").exists() else None)
        label = str(weights) if weights else "random weights, bundled sizes (VAE S, DiT S)"
        weights = weights or random_weights(Path(tmp) / "weights")
        rows = [measure(s, args.steps, weights) for s in args.seconds]
    base = rows[0]["s_per_video_s"]
    for r in rows:
        r["time_ratio_vs_first"] = r["s_per_video_s"] / base
    table = Table(title=f"long video: native 64x64 streamed to a {SIZE[0]}x{SIZE[1]} MP4, {args.steps} steps")
    for col in ("seconds", "frames", "wall s", "s per video s", "ratio", "peak RSS GiB"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(f"{r['seconds']:g}", str(r["frames"]), f"{r['wall_s']:.1f}", f"{r['s_per_video_s']:.2f}",
                      f"{r['time_ratio_vs_first']:.2f}", f"{r['peak_rss_gib']:.2f}")
    Console().print(table)
    report = {"weights": label, "steps": args.steps, "output_size": f"{SIZE[0]}x{SIZE[1]}", "rows": rows,
              "date": str(date.today()), "machine": platform.platform(), "cpus": os.cpu_count()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
