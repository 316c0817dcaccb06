"""A model-free backend that takes a steady, short time per job (5 steps of 0.1 s), so the
scale tests measure the platform (dispatch, leases, storage), not generation."""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np

from zoetrope.backends.base import Capabilities, GenerationRequest, Progress, no_progress


class SteadyBackend:
    name = "steady"
    steps = 5

    @property
    def capabilities(self) -> Capabilities:
        sizes = ((64, 64), (112, 64), (64, 112))
        return Capabilities(tasks=("t2v",), sizes=sizes, max_seconds=12, fps=4, default_steps=self.steps)

    def generate(self, request: GenerationRequest, progress: Progress = no_progress) -> Iterator[np.ndarray]:
        for step in range(self.steps):
            time.sleep(0.1)
            progress((step + 1) / self.steps, f"step {step + 1}")
        yield np.full((4, request.height, request.width, 3), 96, np.uint8)
