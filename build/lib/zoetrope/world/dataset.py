"""A streaming dataset of rendered clips with their captions and scenes."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from zoetrope.world.caption import caption
from zoetrope.world.render import render_batch
from zoetrope.world.scene import Scene, sample_scene


class WorldDataset:
    """Endless batches `(frames uint8 (B, T, H, W, 3), captions, scenes)`, the same for the same seed.

    Batch i depends only on (seed, i), so `shard=(k, n)` lets n workers split the stream
    (worker k yields batches k, k + n, ...) without overlap. `limit` stops after that many
    batches of the whole stream; extra keywords go to `sample_scene`.
    """

    def __init__(
        self,
        seed: int,
        frames: int,
        height: int,
        width: int,
        batch: int,
        split: str = "train",
        *,
        fps: int = 8,
        style: str = "train",
        limit: int | None = None,
        shard: tuple[int, int] = (0, 1),
        **sample_kwargs: object,
    ) -> None:
        self.seed, self.frames, self.height, self.width, self.batch = seed, frames, height, width, batch
        self.split, self.fps, self.style, self.limit, self.shard = split, fps, style, limit, shard
        self.sample_kwargs = sample_kwargs

    def get_batch(self, index: int) -> tuple[np.ndarray, list[str], list[Scene]]:
        """Batch number `index` of the stream."""
        rng = np.random.default_rng([self.seed, index])
        scenes = [sample_scene(rng, split=self.split, **self.sample_kwargs) for _ in range(self.batch)]  # type: ignore[arg-type]
        captions = [caption(s, rng, style=self.style) for s in scenes]
        clips = render_batch(scenes, frames=self.frames, height=self.height, width=self.width, fps=self.fps)
        return clips, captions, scenes

    def __iter__(self) -> Iterator[tuple[np.ndarray, list[str], list[Scene]]]:
        index, count = self.shard
        i = index
        while self.limit is None or i < self.limit:
            yield self.get_batch(i)
            i += count
