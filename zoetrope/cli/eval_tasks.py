"""`zoetrope eval --tasks`: the creative-task bench on whatever bundled weights are installed."""

from __future__ import annotations

import json
import platform
from datetime import date
from pathlib import Path

import numpy as np
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
from rich.table import Table

from zoetrope.cli import err_console, progress_bar
from zoetrope.eval.tasks import task_bench

console = Console()


def _model(size: int, steps: int | None, guidance: float | None = None, literal: bool = False):
    """(make, roundtrip, name) over the bundled backend: the same requests the CLI and API send."""
    from zoetrope.backends.base import GenerationRequest
    from zoetrope.backends.bundled import BundledBackend
    from zoetrope.errors import ModelUnavailable

    backend = BundledBackend()
    try:
        pipe = backend.pipeline()
    except ModelUnavailable as e:
        err_console.print(f"[bold red]error[/]: {e.message}")
        raise typer.Exit(2) from e
    if literal:
        pipe.plain_prompts = False
    calls = iter(range(1 << 30))

    def make(task: str, prompt: str, **fields) -> np.ndarray:
        request = GenerationRequest(prompt=prompt, width=size, height=size, task=task, seed=next(calls),
                                    steps=steps, guidance=guidance, **fields)
        return np.concatenate(list(backend.generate(request)), axis=0)

    def roundtrip(image: np.ndarray) -> np.ndarray:
        return pipe.decode_latents(pipe.encode_frames(image[None]))[0]

    return make, roundtrip, backend.name


def weights_label() -> str:
    """The weights a report scored: "zoetrope/weights" for the package's own, wherever it is installed
    (a committed report names no machine's path), else the folder ZOETROPE_WEIGHTS_DIR gives."""
    from zoetrope.backends.bundled import PACKAGE_WEIGHTS, weights_dir

    weights = weights_dir()
    return "zoetrope/weights" if weights.resolve() == PACKAGE_WEIGHTS.resolve() else str(weights)


def run_tasks(
    *, out: Path, n: int, seed: int, size: int, steps: int | None, guidance: float | None = None,
    literal: bool = False,
) -> None:
    make, roundtrip, name = _model(size, steps, guidance, literal)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with progress_bar(*columns) as bar:
        job = bar.add_task(f"{name} · tasks", total=n)
        result = task_bench(make, roundtrip, n=n, seed=seed, size=size,
                            progress=lambda done, total: bar.update(job, completed=done))
    table = Table(title=f"task bench: {name}, {n} scenes per task, {size}x{size}")
    for col in ("metric", "value", "target", "met"):
        table.add_column(col, justify="right" if col != "metric" else "left")
    for key, value in result.items():
        if isinstance(value, float):
            goal = result["targets"].get(key)
            table.add_row(key, f"{value:.3f}", "" if goal is None else f">= {goal['target']:g}",
                          "" if goal is None else ("yes" if goal["met"] else "no"))
    console.print(table)
    report = {"source": name, "weights": weights_label(), "n": n, "seed": seed, "size": size, "steps": steps,
              "guidance": guidance, "prompts": "literal" if literal else "plain where read", "date": str(date.today()), "machine": platform.platform(), **result}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    console.print(f"wrote {out}")
