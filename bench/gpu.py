"""Wan 2.1 T2V 1.3B on a GPU: our `wan` backend's defaults vs plain diffusers defaults, in one run.

Usage: python bench/gpu.py [--steps 10] [--size 832x480] [--frames 81] [--variants plain,ours,ours+cache]
                           [--model-dir /tmp/zoetrope-bench-wan] [--out bench/results/gpu.json] [--tiny]

The pipeline has the published Wan2.1-T2V-1.3B-Diffusers configuration (transformer, UMT5-XXL text
encoder, VAE, UniPC flow scheduler) with random weights built locally and saved once to --model-dir:
speed and memory do not depend on the weights' values, and nothing is downloaded. Every variant runs
the same prompt, size, frames and steps, after a 2-step warm-up; we report seconds per video (text
encoding, the steps and the VAE decode), seconds per step and peak GPU memory.

- plain: `WanPipeline.from_pretrained(dir).to("cuda")`, called with the same arguments
- ours: `WanBackend(weights=dir)`: bf16, fp32 VAE with tiling, offload only if it would not fit
- ours+cache: ours with `cache = "first_block"` (diffusers' First Block Cache, threshold 0.05)
- ours+compile: ours with `compile = true` (regional torch.compile; the warm-up pays the compile)

On a machine without CUDA it prints that it skipped and why, and writes JSON saying so (--tiny runs
a tiny configuration on the CPU instead, to check the script itself).
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import time
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
PROMPT = "A cat walks on the grass, realistic style, golden hour, camera slowly tracking"

# Published configuration of Wan-AI/Wan2.1-T2V-1.3B-Diffusers.
WAN_1_3B = dict(patch_size=(1, 2, 2), num_attention_heads=12, attention_head_dim=128, in_channels=16,
                out_channels=16, text_dim=4096, freq_dim=256, ffn_dim=8960, num_layers=30, cross_attn_norm=True,
                qk_norm="rms_norm_across_heads", eps=1e-6, image_dim=None, added_kv_proj_dim=None,
                rope_max_seq_len=1024)
UMT5_XXL = dict(vocab_size=256384, d_model=4096, d_kv=64, d_ff=10240, num_layers=24, num_heads=64,
                relative_attention_num_buckets=32, relative_attention_max_distance=128,
                feed_forward_proj="gated-gelu", layer_norm_epsilon=1e-6, tie_word_embeddings=False)
WAN_VAE: dict = {}  # AutoencoderKLWan's defaults are the Wan 2.1 VAE
TINY = (dict(WAN_1_3B, num_attention_heads=2, attention_head_dim=12, text_dim=32, ffn_dim=32, num_layers=2,
             rope_max_seq_len=32),
        dict(UMT5_XXL, vocab_size=64, d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4),
        dict(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1))

VARIANTS = {"ours": {}, "ours+cache": {"cache": "first_block"}, "ours+compile": {"compile": True}}


def build(out: Path, tiny: bool) -> Path:
    """Save a random-weight Wan 1.3B-sized pipeline to `out` once (about 14 GB in bf16)."""
    if (out / "model_index.json").exists():
        return out
    import torch
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanPipeline, WanTransformer3DModel
    from transformers import T5Tokenizer, UMT5Config, UMT5EncoderModel

    transformer_cfg, text_cfg, vae_cfg = TINY if tiny else (WAN_1_3B, UMT5_XXL, WAN_VAE)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.manual_seed(0)
    words = "a cat walks on the grass realistic style golden hour camera slowly tracking".split()
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)] + [(f"▁{w}", -1.0 - i) for i, w in enumerate(words)]
    with torch.device(device):  # random init on the GPU: seconds, not the minutes it takes on a CPU
        parts = dict(
            tokenizer=T5Tokenizer(vocab=vocab, extra_ids=0),
            text_encoder=UMT5EncoderModel(UMT5Config(**text_cfg)).to(torch.bfloat16),
            transformer=WanTransformer3DModel(**transformer_cfg).to(torch.bfloat16),
            vae=AutoencoderKLWan(**vae_cfg),
            scheduler=UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True,
                                              flow_shift=3.0, num_train_timesteps=1000),
        )
    WanPipeline(**parts).save_pretrained(out)
    del parts
    free()
    return out


def free() -> None:
    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


class StepClock:
    """Wall time of each denoising step, the device synchronised at each boundary."""

    def __init__(self) -> None:
        self.marks: list[float] = []

    def tick(self) -> None:
        import torch

        if torch.cuda.is_available():
            torch.cuda.synchronize()
        self.marks.append(time.perf_counter())

    def per_step(self) -> float:
        gaps = [b - a for a, b in zip(self.marks, self.marks[1:], strict=False)]
        return sum(gaps) / len(gaps) if gaps else 0.0


def run_plain(model: Path, args, steps: int, clock: StepClock) -> dict:
    import torch
    from diffusers import WanPipeline

    if not hasattr(run_plain, "pipe"):
        device = "cuda" if torch.cuda.is_available() else "cpu"
        run_plain.pipe = WanPipeline.from_pretrained(model).to(device)  # type: ignore[attr-defined]
        run_plain.pipe.set_progress_bar_config(disable=True)  # type: ignore[attr-defined]
    pipe = run_plain.pipe  # type: ignore[attr-defined]

    def on_step(p, i, t, kw):
        clock.tick()
        return kw

    clock.tick()
    pipe(prompt=PROMPT, height=args.height, width=args.width, num_frames=args.frames, num_inference_steps=steps,
         generator=torch.Generator("cpu").manual_seed(0), output_type="np", callback_on_step_end=on_step)
    return {"dtypes": {k: str(getattr(m, "dtype", "")) for k, m in pipe.components.items() if hasattr(m, "dtype")}}


def run_ours(model: Path, args, steps: int, clock: StepClock, options: dict, cache: dict) -> dict:
    from zoetrope.backends.base import GenerationRequest
    from zoetrope.backends.diffusers import WanBackend

    if "backend" not in cache:
        cache["backend"] = WanBackend(weights=str(model), sizes=[[args.width, args.height]], **options)
    backend = cache["backend"]
    seconds = (args.frames - 1) / backend.capabilities.fps
    request = GenerationRequest(PROMPT, args.width, args.height, seconds=seconds, seed=0, steps=steps)
    assert backend.frames_for(seconds) == args.frames, "frames must be 4k+1"
    clock.tick()
    for _ in backend.generate(request, lambda f, m: clock.tick() if m.startswith("step") else None):
        pass
    pipe = backend._pipes["WanPipeline"]
    return {"dtypes": {k: str(getattr(m, "dtype", "")) for k, m in pipe.components.items() if hasattr(m, "dtype")},
            "offload": backend._offload, "options": options}


def measure(name: str, model: Path, args) -> dict:
    import torch

    cache: dict = {}
    runs = []
    for steps in (2, args.steps):  # the first call pays CUDA init, autotuning and compilation
        free()
        clock = StepClock()
        start = time.perf_counter()
        if name == "plain":
            info = run_plain(model, args, steps, clock)
        else:
            info = run_ours(model, args, steps, clock, VARIANTS[name], cache)
        clock.tick()
        total = time.perf_counter() - start
        peak = torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else None
        runs.append({"s_per_video": total, "s_per_step": clock.per_step(), "peak_gib": peak, **info})
    if hasattr(run_plain, "pipe") and name == "plain":
        del run_plain.pipe  # type: ignore[attr-defined]
    cache.clear()
    free()
    return {"variant": name, "warmup_s": runs[0]["s_per_video"], **runs[1]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--size", default="832x480")
    ap.add_argument("--frames", type=int, default=81)
    ap.add_argument("--variants", default="plain,ours,ours+cache")
    ap.add_argument("--model-dir", type=Path, default=Path("/tmp/zoetrope-bench-wan"))
    ap.add_argument("--out", type=Path, default=ROOT / "bench/results/gpu.json")
    ap.add_argument("--tiny", action="store_true", help="a tiny random Wan on any device: checks the script")
    args = ap.parse_args()
    args.width, args.height = (int(v) for v in args.size.split("x"))
    report: dict = {"date": str(date.today()), "machine": platform.platform(), "steps": args.steps,
                    "size": args.size, "frames": args.frames, "model": "Wan2.1-T2V-1.3B config, random weights"}
    console = Console()
    try:
        import diffusers
        import torch
    except ImportError as e:
        report.update(skipped=True, reason=f"needs the diffusers extra: pip install 'zoetrope[diffusers]' ({e})")
        return finish(report, args.out, console)
    if not torch.cuda.is_available() and not args.tiny:
        report.update(skipped=True, reason="no CUDA GPU on this machine (torch.cuda.is_available() is False)")
        return finish(report, args.out, console)
    report.update(gpu=torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
                  torch=torch.__version__, diffusers=diffusers.__version__, tiny=args.tiny)
    model = build(args.model_dir / ("tiny" if args.tiny else "wan-1.3b"), args.tiny)
    names = [v for v in args.variants.split(",") if v]
    unknown = set(names) - {"plain", *VARIANTS}
    if unknown:
        raise SystemExit(f"unknown variants {sorted(unknown)}; choose from plain, {', '.join(VARIANTS)}")
    report["results"] = [measure(name, model, args) for name in names]
    table = Table(title=f"Wan 1.3B-sized, {args.size}, {args.frames} frames, {args.steps} steps on {report['gpu']}")
    for col in ("variant", "s/video", "s/step", "peak GiB", "warm-up s"):
        table.add_column(col, justify="left" if col == "variant" else "right")
    for r in report["results"]:
        table.add_row(r["variant"], f"{r['s_per_video']:.1f}", f"{r['s_per_step']:.2f}", f"{r['peak_gib']:.1f}" if r["peak_gib"] is not None else "-",
                      f"{r['warmup_s']:.1f}")
    console.print(table)
    finish(report, args.out, console)


def finish(report: dict, out: Path, console: Console) -> None:
    if report.get("skipped"):
        console.print(f"skipped: {report['reason']}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    console.print(f"wrote {out}")


if __name__ == "__main__":
    main()
