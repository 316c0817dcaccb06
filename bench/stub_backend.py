"""StubFastBackend: a benchmark-only backend that returns grey frames at once (no model), so
bench/api.py measures the platform (API, queue, dispatch), not generation."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from zoetrope.backends.base import Capabilities, GenerationRequest, Progress, no_progress


class StubFastBackend:
    name = "stub-fast"

    @property
    def capabilities(self) -> Capabilities:
        sizes = ((64, 64), (64, 112), (112, 64))
        return Capabilities(
            tasks=("t2v", "t2i"), sizes=sizes, max_seconds=20, fps=8, default_steps=1, depicts_people=False
        )

    def generate(self, request: GenerationRequest, progress: Progress = no_progress) -> Iterator[np.ndarray]:
        progress(1.0, "stub")
        yield np.full((1 if request.task == "t2i" else 8, request.height, request.width, 3), 128, np.uint8)
