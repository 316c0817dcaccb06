"""What both training loops share: device and precision, EMA, resumable checkpoints, progress."""

from __future__ import annotations

import copy
import os
import time
from pathlib import Path

import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from torch import nn

from zoetrope.model.precision import autocast  # noqa: F401  (re-exported for the training loops)


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


class EMA:
    """An exponential moving average of a model's weights (what gets exported and sampled)."""

    def __init__(self, model: nn.Module, decay: float = 0.999) -> None:
        self.decay = decay
        self.model = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        d = min(self.decay, (1 + step) / (10 + step))  # warm up so early EMA is not stuck at init
        for e, p in zip(self.model.parameters(), model.parameters(), strict=True):
            e.lerp_(p.detach(), 1 - d)


def save_checkpoint(path: Path, **state) -> None:
    """Write atomically: a stopped run never leaves a truncated checkpoint behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path) -> dict | None:
    """A training checkpoint, or None where there is none yet. A bundled-weights folder (config.json
    beside vae.safetensors and dit.safetensors, as `zoetrope train export` writes) reads as a checkpoint
    of both networks, so training can start from the weights that ship in the package."""
    path = Path(path)
    if path.is_dir():
        return weights_checkpoint(path)
    return torch.load(path, map_location="cpu", weights_only=False) if path.exists() else None


def weights_checkpoint(folder: Path) -> dict:
    """The exported weights in `folder` as a checkpoint dict: the VAE under `model`, the DiT under `ema`."""
    import json

    from safetensors.torch import load_file

    missing = [n for n in ("config.json", "vae.safetensors", "dit.safetensors") if not (folder / n).exists()]
    if missing:
        raise FileNotFoundError(f"{folder} is not a weights folder: it lacks {', '.join(missing)}")
    meta = json.loads((folder / "config.json").read_text())
    dit = {k: v.float() for k, v in load_file(folder / "dit.safetensors").items()}
    return {
        "model": {k: v.float() for k, v in load_file(folder / "vae.safetensors").items()},
        "vae_config": meta["vae"],
        "scaling": meta["vae"].get("scaling"),
        "step": meta.get("vae_steps", 0),
        "ema": dit,
        "dit_config": meta["dit"],
        "dit_step": meta.get("dit_steps", 0),
        "psnr": meta.get("vae_psnr_db"),
    }


def unwrap(model: nn.Module) -> nn.Module:
    return model.module if hasattr(model, "module") else model


class Clock:
    """Calls back every `every` seconds of wall time (checkpoints by time, not steps)."""

    def __init__(self, every: float) -> None:
        self.every = every
        self.last = time.monotonic()

    def due(self) -> bool:
        if time.monotonic() - self.last >= self.every:
            self.last = time.monotonic()
            return True
        return False


def progress_bar(disable: bool = False) -> Progress:
    """A Rich bar on a terminal; in a log file (no terminal) a plain line per refresh instead."""
    import sys

    if not sys.stdout.isatty() and not disable:
        return _LogProgress()
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[stats]}"),
        TimeRemainingColumn(),
        disable=disable,
    )


def distributed() -> tuple[int, int]:
    """(rank, world size); initialises torch.distributed when launched by torchrun."""
    if "RANK" in os.environ and "WORLD_SIZE" in os.environ:
        import torch.distributed as dist

        if not dist.is_initialized():
            dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class _LogProgress:
    """Progress for a background run: one line at most every 30 s, so a log file shows headway."""

    def __init__(self) -> None:
        self.tasks: dict[int, dict] = {}
        self.last = 0.0

    def __enter__(self) -> _LogProgress:
        return self

    def __exit__(self, *exc) -> None:
        return None

    def add_task(self, description: str, total: int, completed: int = 0, stats: str = "") -> int:
        self.tasks[len(self.tasks)] = {"description": description, "total": total}
        return len(self.tasks) - 1

    def update(self, task: int, completed: int = 0, stats: str = "") -> None:
        now = time.monotonic()
        if now - self.last >= 30:
            self.last = now
            t = self.tasks[task]
            print(f"{time.strftime('%H:%M:%S')} {t['description']} {completed}/{t['total']} {stats}", flush=True)
