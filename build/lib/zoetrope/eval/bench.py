"""world-bench: held-out scenes, captioned, generated (or rendered) and scored by the analyzer."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from zoetrope.eval.analyze import ALL_AXES, analyze
from zoetrope.world import Scene, caption, render, sample_scene

Generate = Callable[[str, Scene], np.ndarray]


def world_bench(
    generate: Generate | None,
    *,
    n: int = 64,
    seed: int = 0,
    split: str = "heldout",
    style: str = "train",
    frames: int = 16,
    size: int = 64,
    fps: int = 8,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Mean score per axis of ALL_AXES (None where no scene used it), "n", and "axis_n" (clips per axis).

    Scenes come from `split` (seeded), prompts are their long captions in `style`;
    `generate(prompt, scene)` returns uint8 frames (T, H, W, 3), or with None the renderer
    draws the scene itself: the reference, which scores about 1 on every axis.
    """
    scene_rng, caption_rng = np.random.default_rng([seed, 0]), np.random.default_rng([seed, 1])
    totals: dict[str, list[float]] = {axis: [] for axis in ALL_AXES}
    for i in range(n):
        scene = sample_scene(scene_rng, split=split)  # the same scenes for every prompt style
        prompt = caption(scene, caption_rng, style=style, form="long")
        if generate is None:
            clip = render(scene, frames=frames, height=size, width=size, fps=fps)
        else:
            clip = np.asarray(generate(prompt, scene))
        for axis, value in analyze(clip, scene, fps=fps).items():
            totals[axis].append(value)
        if progress is not None:
            progress(i + 1, n)
    result: dict = {axis: (float(np.mean(v)) if v else None) for axis, v in totals.items()}
    result["n"] = n
    result["axis_n"] = {axis: len(v) for axis, v in totals.items()}
    return result
