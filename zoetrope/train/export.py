"""Export trained networks as the bundled weights: fp16 safetensors plus a config.json."""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors.torch import save_file

from zoetrope.diffusion.pipeline import CONTINUATION_FILE
from zoetrope.train.common import load_checkpoint


def export_weights(vae_checkpoint: Path, dit_checkpoint: Path, out_dir: Path, card: dict | None = None,
                   continuation: Path | None = None) -> Path:
    """Write vae.safetensors, dit.safetensors (EMA weights) and config.json into `out_dir`, and with
    `continuation` (a DiT checkpoint of the same config) its EMA weights as the continuation DiT."""
    vae_state = load_checkpoint(vae_checkpoint)
    dit_state = load_checkpoint(dit_checkpoint)
    if vae_state is None or dit_state is None:
        raise FileNotFoundError(f"need both checkpoints: {vae_checkpoint}, {dit_checkpoint}")
    cont_state = load_checkpoint(continuation) if continuation is not None else None
    if continuation is not None and cont_state is None:
        raise FileNotFoundError(f"no continuation checkpoint at {continuation}")
    if cont_state is not None and cont_state["dit_config"] != dit_state["dit_config"]:
        raise ValueError(
            f"the continuation DiT must have the main DiT's config: {cont_state['dit_config']} != {dit_state['dit_config']}"
        )
    out_dir.mkdir(parents=True, exist_ok=True)

    def half(state: dict) -> dict:
        return {k: v.detach().to(torch.float16).contiguous() for k, v in state.items()}

    def save(state: dict, path: Path) -> None:
        save_file(half(state), path)
        os.chmod(path, 0o666 & ~_umask())  # safetensors writes 0600; weights are for anyone to read

    save(vae_state["model"], out_dir / "vae.safetensors")
    save(dit_state["ema"], out_dir / "dit.safetensors")
    stale = out_dir / CONTINUATION_FILE
    if cont_state is not None:
        save(cont_state["ema"], stale)
    elif stale.exists():  # weights without a continuation DiT must not keep an older one's
        stale.unlink()
    vae_cfg = dict(vae_state["vae_config"], scaling=vae_state.get("scaling", vae_state["vae_config"]["scaling"]))
    meta = {"vae": vae_cfg, "dit": dit_state["dit_config"], "dit_steps": _dit_steps(dit_state),
            "vae_steps": vae_state["step"], "vae_psnr_db": vae_state.get("psnr"), **(card or {})}
    if cont_state is not None:
        meta["continuation_steps"] = _dit_steps(cont_state)
    (out_dir / "config.json").write_text(json.dumps(meta, indent=2, default=str))
    return out_dir


def _dit_steps(state: dict) -> int:
    """A DiT checkpoint's steps; a weights folder read as a checkpoint keeps them apart from the VAE's."""
    return state.get("dit_step", state["step"])


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
