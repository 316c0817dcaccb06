"""Engine benchmark: generation time, DiT throughput vs the machine's matmul peak, and our sampler
against a plain diffusers-style loop (scheduler object, conditional and unconditional forwards
run separately) on the same network and weights.

    python bench/engine.py [--weights DIR] [--steps N] [--out bench/results/engine.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.table import Table

from zoetrope.backends.base import GenerationRequest
from zoetrope.backends.bundled import BundledBackend, weights_dir
from zoetrope.diffusion.pipeline import SampleOptions
from zoetrope.model.precision import autocast, cpu_bf16


def matmul_peak(n: int = 2048, reps: int = 5) -> float:
    """Measured fp32 GFLOP/s of a square matmul on this machine, best of `reps`."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = 0.0
    for _ in range(reps):
        t = time.perf_counter()
        a @ b
        best = max(best, 2 * n**3 / (time.perf_counter() - t) / 1e9)
    return best


def dit_flops(dit, tokens: int, ctx: int = 32) -> float:
    """Forward FLOPs of the DiT for one sequence: 2 x MACs of every linear, plus attention."""
    d, depth = dit.cfg.dim, dit.cfg.depth
    linear = sum(p.numel() for n, p in dit.named_parameters() if n.endswith("weight") and p.ndim == 2)
    per_token = 2 * linear
    attn = depth * (4 * tokens * tokens * d + 4 * tokens * ctx * d)
    return per_token * tokens + attn


def time_it(fn, reps: int = 3) -> float:
    fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def plain_loop(pipe, prompt: str, shape: tuple, steps: int, guidance: float, seed: int) -> torch.Tensor:
    """What a diffusers pipeline does: a scheduler object, two forwards per step."""
    from diffusers import FlowMatchEulerDiscreteScheduler

    sched = FlowMatchEulerDiscreteScheduler(num_train_timesteps=1000, shift=1.0)
    sched.set_timesteps(steps)
    s, n = pipe.text.encode([prompt]), pipe.text.encode([""])
    x = torch.randn(shape, generator=torch.Generator().manual_seed(seed))
    for t in sched.timesteps:
        tt = torch.full((1, shape[2]), float(t) / 1000)
        with autocast(torch.device("cpu")):
            vc = pipe.dit(x, tt, s.tokens, s.mask, s.pooled).float()
            vu = pipe.dit(x, tt, n.tokens, n.mask, n.pooled).float()
        v = vu + guidance * (vc - vu)
        x = sched.step(v, t, x).prev_sample
    return x


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--weights", type=Path, default=None)
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--out", type=Path, default=Path("bench/results/engine.json"))
    args = ap.parse_args()
    backend = BundledBackend(args.weights or weights_dir())
    caps = backend.capabilities
    steps = args.steps or caps.default_steps
    pipe = backend.pipeline()
    rows: dict[str, float] = {}

    peak = matmul_peak()
    rows["matmul_peak_gflops"] = peak
    for seconds, size in [(4, (64, 64)), (4, (112, 64))]:
        req = GenerationRequest(prompt="a red circle moves to the right", width=size[0], height=size[1],
                                seconds=seconds, seed=0, steps=steps)
        rows[f"s_per_clip_{seconds}s_{size[0]}x{size[1]}"] = time_it(lambda r=req: list(backend.generate(r)), reps=2)
    # the CLI's 128x128: generated at 64x64, resized by the media layer
    from zoetrope.media import resize

    req = GenerationRequest(prompt="a red circle moves to the right", width=64, height=64, seconds=4, seed=0, steps=steps)
    rows["s_per_clip_4s_128x128_cli"] = time_it(lambda: resize(np.concatenate(list(backend.generate(req))), 128, 128), 2)

    # DiT throughput: one CFG-batched forward of a 64x64, 17-frame window
    shape = (1, pipe.vae.cfg.latent_channels, 5, 8, 8)
    tokens = 5 * 4 * 4
    s = pipe.text.encode(["a red circle moves to the right"])
    x, t = torch.randn(2, *shape[1:]), torch.rand(2, 5)
    batch = 16  # a batch of sequences, as in training and multi-request serving

    def fwd_in(bf16: bool):
        def run():
            with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                pipe.dit(x.repeat(batch // 2, 1, 1, 1, 1), t.repeat(batch // 2, 1), s.tokens.expand(batch, -1, -1),
                         s.mask.expand(batch, -1), s.pooled.expand(batch, -1))
        return run

    fwd = fwd_in(cpu_bf16())  # the precision `autocast` chooses on this CPU

    sec = time_it(fwd, reps=3)
    rows["dit_forward_gflops"] = batch * dit_flops(pipe.dit, tokens) / sec / 1e9
    rows["dit_fraction_of_peak"] = rows["dit_forward_gflops"] / peak

    # Against the other precision: bf16 pays only with native bf16 instructions (AVX-512 BF16, AMX);
    # elsewhere it is emulated and far slower than fp32.
    rows["cpu_bf16_native"] = float(cpu_bf16())
    rows["dit_forward_bf16_over_fp32_time"] = time_it(fwd_in(True), reps=2) / time_it(fwd_in(False), reps=2)

    opts = SampleOptions(steps=steps, guidance=4.0)
    ours = time_it(lambda: pipe.sample_latents("a red circle moves right", latent_frames=5, height=64, width=64,
                                                 options=opts), reps=2)
    try:
        plain = time_it(lambda: plain_loop(pipe, "a red circle moves right", shape, steps, 4.0, 0), reps=2)
    except ImportError:
        plain = float("nan")
    rows["s_per_window_ours"] = ours
    rows["s_per_window_plain_loop"] = plain
    rows["speedup_vs_plain_loop"] = plain / ours
    rows["s_per_step_ours"] = ours / steps

    table = Table(title=f"engine bench · {platform.processor() or platform.machine()} · {os.cpu_count()} cores · "
                  f"{steps} steps")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k, v in rows.items():
        table.add_row(k, f"{v:.3f}")
    Console().print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    machine = {"cpus": os.cpu_count(), "torch": torch.__version__,
               "cpu_capability": torch.backends.cpu.get_cpu_capability(), "cpu_bf16": cpu_bf16()}
    args.out.write_text(json.dumps({"machine": machine,
                                    "date": time.strftime("%Y-%m-%d"), "steps": steps, **rows}, indent=2))


if __name__ == "__main__":
    main()
