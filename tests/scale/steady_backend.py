"""A model-free backend that takes a steady, short time per job (5 steps of 0.1 s), so the
scale tests measure the platform (dispatch, leases, storage), not generation.

While the file named by `STEADY_HOLD_FILE` exists, every job waits after its first step: a fault
test holds the jobs it submitted in flight, injects its fault, then lets them go.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from zoetrope.backends.base import Capabilities, GenerationRequest, Progress, no_progress

HOLD_ENV = "STEADY_HOLD_FILE"


class SteadyBackend:
    name = "steady"
    steps = 5

    @property
    def capabilities(self) -> Capabilities:
        sizes = ((64, 64), (112, 64), (64, 112))
        return Capabilities(
            tasks=("t2v",), sizes=sizes, max_seconds=12, fps=4, default_steps=self.steps, depicts_people=False
        )

    def generate(self, request: GenerationRequest, progress: Progress = no_progress) -> Iterator[np.ndarray]:
        hold = Path(os.environ[HOLD_ENV]) if os.environ.get(HOLD_ENV) else None
        for step in range(self.steps):
            time.sleep(0.1)
            progress((step + 1) / self.steps, f"step {step + 1}")
            while step == 0 and hold is not None and hold.exists():
                time.sleep(0.1)
                progress(1 / self.steps, "held")  # raises Cancelled if the job was deleted
        yield np.full((4, request.height, request.width, 3), 96, np.uint8)
