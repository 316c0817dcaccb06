"""`zoetrope eval`: world-bench, on the bundled model or (with --real) on the renderer itself."""

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

from zoetrope.cli import app, err_console, progress_bar
from zoetrope.cli.tasks import MAX_STEPS
from zoetrope.eval import ALL_AXES, world_bench
from zoetrope.world import Scene

console = Console()
FPS = 8


def _model_generate(size: int, frames: int, steps: int | None, guidance: float | None = None, literal: bool = False):
    """A generate(prompt, scene) over the bundled model, or None (with a printed reason) if it is missing."""
    try:
        from zoetrope.backends.base import GenerationRequest
        from zoetrope.backends.bundled import BundledBackend
    except ImportError as e:
        err_console.print(
            f"[bold red]error[/]: the bundled model is not available ({e}); try `zoetrope eval --real`"
        )
        raise typer.Exit(2) from e
    backend = BundledBackend()
    pipe = backend.pipeline()  # load the weights now: a missing model fails before any progress is shown
    if literal:
        pipe.plain_prompts = False
    calls = iter(range(1 << 30))

    def generate(prompt: str, scene: Scene) -> np.ndarray:
        request = GenerationRequest(
            prompt=prompt, width=size, height=size, seconds=frames / FPS, seed=next(calls), steps=steps,
            guidance=guidance,
        )
        return np.concatenate(list(backend.generate(request)), axis=0)

    return generate, backend.name


def _clip_length(frames: int) -> int:
    """The shortest clip the VAE takes (1 + 4k frames) that holds `frames`."""
    return 1 + 4 * ((max(frames, 1) + 2) // 4)


def _vae_roundtrip(size: int, frames: int):
    """A generate(prompt, scene) that renders the scene and returns it through the bundled VAE."""
    from zoetrope.backends.bundled import BundledBackend
    from zoetrope.world import render

    pipe = BundledBackend().pipeline()
    length = _clip_length(frames)

    def generate(prompt: str, scene: Scene) -> np.ndarray:
        clip = render(scene, frames=length, height=size, width=size, fps=FPS)
        return pipe.decode_latents(pipe.encode_frames(clip))[:frames]

    return generate


def _denoise_from(size: int, frames: int, start: float, steps: int | None, guidance: float | None):
    """A generate(prompt, scene) that renders the scene and has the bundled model remix it with the
    prompt at strength `start` (SDEdit): the VAE round trip at 0, generation from noise at 1."""
    from zoetrope.backends.base import GenerationRequest
    from zoetrope.backends.bundled import BundledBackend
    from zoetrope.world import render

    backend = BundledBackend()
    length = _clip_length(frames)
    calls = iter(range(1 << 30))

    def generate(prompt: str, scene: Scene) -> np.ndarray:
        clip = render(scene, frames=length, height=size, width=size, fps=FPS)
        request = GenerationRequest(prompt=prompt, width=size, height=size, task="remix", source=clip, strength=start,
                                    seed=next(calls), steps=steps, guidance=guidance)
        return np.concatenate(list(backend.generate(request)), axis=0)[:frames]

    return generate


def check_out(out: Path) -> None:
    """Refuse an --out that could not be written, before a run of minutes or hours makes the results:
    its folder is made now (as it would be at the end) and must take a new file."""
    import tempfile

    from zoetrope.errors import InvalidRequest

    if out.is_dir():
        raise InvalidRequest(f"--out {out} is a directory; give a file name such as {out / 'results.json'}",
                             param="--out")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=out.parent, prefix=".zoetrope-", suffix=".probe"):
            pass
    except OSError as e:
        raise InvalidRequest(f"--out {out}: cannot write in {out.parent} ({e.strerror or e}); choose another place",
                             param="--out") from None


def _run(label: str, generate, *, n: int, seed: int, split: str, style: str, frames: int, size: int) -> dict:
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with progress_bar(*columns) as bar:
        task = bar.add_task(label, total=n)
        return world_bench(
            generate,
            n=n,
            seed=seed,
            split=split,
            style=style,
            frames=frames,
            size=size,
            fps=FPS,
            progress=lambda done, total: bar.update(task, completed=done),
        )


def _table(blocks: dict[str, dict], title: str) -> Table:
    table = Table(title=title)
    table.add_column("axis")
    for name in blocks:
        table.add_column(name, justify="right")
    for axis in ALL_AXES:
        cells = [blocks[b].get(axis) for b in blocks]
        table.add_row(axis, *("-" if c is None else f"{c:.3f}" for c in cells))
    return table


@app.command("eval")
def eval_command(
    real: bool = typer.Option(
        False, "--real", help="score the renderer's own clips: the reference, about 1 everywhere"
    ),
    out: Path = typer.Option(Path("eval/results.json"), "--out", help="where to write the JSON results"),
    n: int = typer.Option(64, "--n", min=1, help="held-out scenes to score"),
    steps: int = typer.Option(
        None, "--steps", min=1, max=MAX_STEPS, help=f"sampling steps for the model, 1 to {MAX_STEPS} (default: the model's)"
    ),
    guidance: float = typer.Option(
        None, "--guidance", min=0.0, help="classifier-free guidance scale for the model, 0 or more (default: the model's)"
    ),
    paraphrase: bool = typer.Option(
        False, "--paraphrase", help="with --real, also score paraphrased prompts (the model always gets both)"
    ),
    seed: int = typer.Option(0, "--seed", help="seed of the scene sample"),
    split: str = typer.Option(
        "heldout", "--split", help="heldout (unseen color/shape/motion combinations) or train"
    ),
    frames: int = typer.Option(16, "--frames", min=1, help="frames per clip (at 8 fps)"),
    size: int = typer.Option(64, "--size", min=16, help="frame width and height in pixels"),
    tasks: bool = typer.Option(
        False, "--tasks", help="score the creative tasks instead: image->video, extend, loop, blend, remix"
    ),
    vae: bool = typer.Option(
        False,
        "--vae",
        help="score the bundled VAE's round trip of the renderer's clips: the ceiling for any generation",
    ),
    literal_prompts: bool = typer.Option(
        False,
        "--literal-prompts",
        help="give the model each prompt as written, without first saying a world scene in the training wording",
    ),
    denoise_from: float = typer.Option(
        None,
        "--denoise-from",
        min=0.0,
        max=1.0,
        help="score the model denoising each rendered clip's latents from this noise level (SDEdit): "
        "0 is the VAE round trip, 1 generation from noise; a few levels show where each axis is lost",
    ),
) -> None:
    """Score the bundled model on world-bench's held-out scenes, each axis in 0..1, and write them as JSON.

    Axes: color, shape, count, direction, speed, relation, consistency, flicker, motion.

    With --tasks: the creative tasks (image->video, extend, loop, blend, remix), each against its target.
    """
    from zoetrope.errors import InvalidRequest
    from zoetrope.world.scene import SPLITS

    if split not in SPLITS:
        raise InvalidRequest(f"--split {split!r}: use one of {', '.join(SPLITS)}", param="--split")
    if tasks:
        from zoetrope.cli.eval_tasks import run_tasks

        check_out(out)
        return run_tasks(out=out, n=n, seed=seed, size=size, steps=steps, guidance=guidance, literal=literal_prompts)
    if sum((real, vae, denoise_from is not None)) > 1:
        raise typer.BadParameter("choose one of --real, --vae and --denoise-from", param_hint="--vae")
    check_out(out)
    if denoise_from is not None:
        generate = _denoise_from(size, frames, denoise_from, steps, guidance)
        source = f"zoetrope-mini denoising from t={denoise_from:g}"
    elif real:
        generate, source = None, "renderer"
    elif vae:
        generate, source = _vae_roundtrip(size, frames), "zoetrope-mini VAE round trip"
    else:
        generate, source = _model_generate(size, frames, steps, guidance, literal=literal_prompts)
    styles = ["train", "paraphrase"] if paraphrase or not (real or vae or denoise_from is not None) else ["train"]
    blocks = {}
    for style in styles:
        name = "train-style" if style == "train" else "paraphrase"
        blocks[name] = _run(
            f"{source} · {name}", generate, n=n, seed=seed, split=split, style=style, frames=frames, size=size
        )
    main = blocks["train-style"]
    report = {
        "source": source,
        "split": split,
        "n": n,
        "seed": seed,
        "frames": frames,
        "size": size,
        "fps": FPS,
        "steps": steps,
        "guidance": guidance,
        "prompts": "literal" if literal_prompts else "plain where read",
        "date": str(date.today()),
        "machine": platform.platform(),
        **{axis: main[axis] for axis in ALL_AXES},
        **blocks,
    }
    console.print(_table(blocks, f"world-bench: {source}, {n} {split} scenes"))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    console.print(f"wrote {out}")
