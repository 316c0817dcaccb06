"""Export trained networks as the bundled weights: fp16 safetensors plus a config.json."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import save_file

from zoetrope.train.common import load_checkpoint


def export_weights(vae_checkpoint: Path, dit_checkpoint: Path, out_dir: Path, card: dict | None = None) -> Path:
    """Write vae.safetensors, dit.safetensors (EMA weights) and config.json into `out_dir`."""
    vae_state = load_checkpoint(vae_checkpoint)
    dit_state = load_checkpoint(dit_checkpoint)
    if vae_state is None or dit_state is None:
        raise FileNotFoundError(f"need both checkpoints: {vae_checkpoint}, {dit_checkpoint}")
    out_dir.mkdir(parents=True, exist_ok=True)

    def half(state: dict) -> dict:
        return {k: v.detach().to(torch.float16).contiguous() for k, v in state.items()}

    save_file(half(vae_state["model"]), out_dir / "vae.safetensors")
    save_file(half(dit_state["ema"]), out_dir / "dit.safetensors")
    vae_cfg = dict(vae_state["vae_config"], scaling=vae_state.get("scaling", vae_state["vae_config"]["scaling"]))
    meta = {"vae": vae_cfg, "dit": dit_state["dit_config"], "dit_steps": dit_state["step"],
            "vae_steps": vae_state["step"], "vae_psnr_db": vae_state.get("psnr"), **(card or {})}
    (out_dir / "config.json").write_text(json.dumps(meta, indent=2, default=str))
    return out_dir
