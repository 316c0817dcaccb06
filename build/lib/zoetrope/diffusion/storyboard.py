"""A storyboard: one video whose segments follow prompt cards, each continuing from the one before."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from zoetrope.diffusion.pipeline import SampleOptions, VideoPipeline
from zoetrope.diffusion.tasks import (
    CONTEXT,
    NEW_PER_WINDOW,
    StepFn,
    continue_video,
    image_to_video,
    text_to_video,
)


@dataclass(frozen=True)
class Segment:
    """`frames` frames of the video under one prompt; with `image` (H, W, 3), the segment starts on it."""

    prompt: str
    frames: int
    image: np.ndarray | None = None


def segments_for(starts: list[float], prompts: list[str], total_frames: int, fps: float,
                 images: list[np.ndarray | None] | None = None) -> list[Segment]:
    """Segments from card start seconds (the first is 0, increasing) over a video of `total_frames`."""
    bounds = [round(s * fps) for s in starts] + [total_frames]
    images = images or [None] * len(starts)
    return [Segment(p, bounds[i + 1] - bounds[i], images[i]) for i, p in enumerate(prompts)]


def storyboard(
    pipe: VideoPipeline, segments: list[Segment], *, height: int, width: int, seed: int, options: SampleOptions,
    on_step: StepFn | None = None,
) -> Iterator[np.ndarray]:
    """Yield the video segment by segment, in chunks. A segment continues the previous one's last
    CONTEXT frames under its own prompt; one with an image cuts to that image and animates it."""
    tail: np.ndarray | None = None  # (<= CONTEXT, H, W, 3)
    scale = 1000

    for n, seg in enumerate(segments):
        def seg_step(done: int, total: int, n: int = n) -> None:
            if on_step is not None:
                on_step(round(scale * (n + done / max(total, 1)) / len(segments)), scale)

        s = seed + 7919 * n
        if seg.image is not None:
            chunks = image_to_video(pipe, seg.prompt, seg.image, seg.frames, seed=s, options=options, on_step=seg_step)
        elif tail is None:
            chunks = text_to_video(pipe, seg.prompt, seg.frames, height=height, width=width, seed=s, options=options,
                                   on_step=seg_step)
        else:
            count = [0]
            windows = -(-seg.frames // NEW_PER_WINDOW)

            def window_done(count: list[int] = count, windows: int = windows, step=seg_step) -> None:
                count[0] += 1
                step(count[0], windows)

            chunks = continue_video(pipe, seg.prompt, tail, seg.frames, height=height, width=width, seed=s,
                                    options=options, on_window=window_done)
        for chunk in chunks:
            tail = chunk[-CONTEXT:] if tail is None else np.concatenate([tail, chunk])[-CONTEXT:]
            yield chunk
