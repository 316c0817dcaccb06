"""A deliberately slow backend (0.1 s per step), so a test can kill a worker mid-job."""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np

from zoetrope.backends.base import Capabilities, GenerationRequest, Progress, no_progress


class SlowBackend:
    name = "slow-test"
    steps = 30

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            tasks=("t2v",),
            sizes=((64, 64),),
            max_seconds=10,
            fps=8,
            default_steps=self.steps,
            depicts_people=False,  # grey frames
        )

    def generate(self, request: GenerationRequest, progress: Progress = no_progress) -> Iterator[np.ndarray]:
        for step in range(self.steps):
            time.sleep(0.1)
            progress((step + 1) / self.steps, f"step {step + 1}")
        yield np.full((8, request.height, request.width, 3), 128, np.uint8)
