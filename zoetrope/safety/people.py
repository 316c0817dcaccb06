"""The people check of the output filter: who and what a body-part detector sees, against the prompt.

For backends that can depict people, the sampled frames also go through NudeNet (the `nudenet`
package, whose YOLO model `320n.onnx` ships inside the wheel, run offline). It finds faces and
covered or exposed body parts; `judge` turns that, with the prompt's moderation result, into a
block or not, by the rules and thresholds of `data/frames.toml`.
"""

from __future__ import annotations

import threading
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Protocol

import numpy as np
from pydantic import BaseModel, Field, PrivateAttr, ValidationError

from zoetrope.errors import ConfigError
from zoetrope.safety.policy import Category, Policy
from zoetrope.safety.rules import RuleSet


@dataclass(frozen=True)
class Detection:
    """One thing seen in a frame: a detector label ("FACE_FEMALE", "BUTTOCKS_EXPOSED") and its score."""

    label: str
    score: float


class PeopleDetector(Protocol):
    """Anything that lists the people and body parts in RGB frames, one list per frame."""

    def detect(self, frames: list[np.ndarray]) -> list[list[Detection]]: ...


class NudeNetDetector:
    """NudeNet's detector on one CPU thread (the API's workers share the machine with the model)."""

    def __init__(self) -> None:
        import nudenet
        import onnxruntime

        self._model = nudenet.NudeDetector()
        # Its own session takes every core; ours runs on one, like the open_nsfw classifier.
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        weights = Path(nudenet.__file__).parent / "320n.onnx"
        self._model.onnx_session = onnxruntime.InferenceSession(
            str(weights), options, providers=["CPUExecutionProvider"]
        )

    def detect(self, frames: list[np.ndarray]) -> list[list[Detection]]:
        # NudeNet reads files with cv2.imread, so it expects BGR arrays: hand it ours the same way.
        found = self._model.detect_batch([np.ascontiguousarray(f[..., ::-1]) for f in frames])
        return [[Detection(d["class"], float(d["score"])) for d in frame] for frame in found]


class FramePolicy(BaseModel):
    """The people check's thresholds and word lists (`data/frames.toml`)."""

    person: float = Field(ge=0, le=1, description="a face this sure counts as a person in the frame")
    sexual_exposure: float = Field(ge=0, le=1, description="an exposed part this sure blocks, any prompt")
    unasked_exposure: float = Field(ge=0, le=1, description="blocks when the prompt did not lean sexual")
    minors_exposure: float = Field(ge=0, le=1, description="blocks when the prompt is about minors")
    prompt_lean: float = Field(ge=0, le=1, description="a prompt category score that counts as leaning")
    exposed_parts: list[str]
    minor_terms: list[str]
    _minors: RuleSet = PrivateAttr()

    def model_post_init(self, _context: object) -> None:
        words = Category(description="minors", threshold=1.0, terms=self.minor_terms)
        self._minors = RuleSet(Policy(categories={"minors": words}, exemplars={}))

    def minor_words(self, prompt: str) -> str | None:
        """The words that make `prompt` about minors, or None."""
        return self._minors.match(self._minors.prepare(prompt)).get("minors")


def load_frame_policy(path: Path | None = None) -> FramePolicy:
    """The validated people-check policy from a TOML file; the shipped one when `path` is None."""
    try:
        if path is None:
            text = resources.files("zoetrope.safety").joinpath("data", "frames.toml").read_text()
        else:
            text = Path(path).read_text()
        return FramePolicy.model_validate(tomllib.loads(text))
    except (OSError, tomllib.TOMLDecodeError, ValidationError) as e:
        raise ConfigError(f"cannot load the frame policy {path or 'frames.toml'}: {e}") from e


@lru_cache(maxsize=1)
def default_frame_policy() -> FramePolicy:
    return load_frame_policy()


@dataclass(frozen=True)
class PeopleVerdict:
    """What the detector saw over the sampled frames and what the policy makes of it."""

    category: str | None  # "sexual/minors" or "sexual" when blocked
    reason: str | None
    person: float  # the surest face: the detector's sign of a person (0 when none)
    exposure: float  # the surest exposed part of `exposed_parts`
    seen: dict[str, float]  # label -> the highest score over the frames


def judge(
    detections: list[list[Detection]],
    prompt_scores: dict[str, float],
    minor_words: str | None,
    policy: FramePolicy,
) -> PeopleVerdict:
    """Block or pass frames by what `detections` show and what the prompt asked for: its moderation
    scores (`ModerationResult.scores`) and the words that make it about minors, if any."""
    seen: dict[str, float] = {}
    for d in (d for frame in detections for d in frame):
        seen[d.label] = max(seen.get(d.label, 0.0), round(d.score, 4))
    person = max((score for label, score in seen.items() if label.startswith("FACE_")), default=0.0)
    exposure = max((seen.get(p, 0.0) for p in policy.exposed_parts), default=0.0)
    part = max(policy.exposed_parts, key=lambda p: seen.get(p, 0.0))
    minors_lean = prompt_scores.get("sexual/minors", 0.0) >= policy.prompt_lean
    about_minors = minor_words or ("the prompt's sexual/minors score" if minors_lean else None)
    sexual_lean = prompt_scores.get("sexual", 0.0) >= policy.prompt_lean

    category = reason = None
    if person >= policy.person and about_minors and exposure >= policy.minors_exposure:
        category, reason = (
            "sexual/minors",
            f"{part} {exposure:.2f} with a prompt about minors ({about_minors})",
        )
    elif exposure >= policy.sexual_exposure:
        category, reason = "sexual", f"{part} {exposure:.2f}"
    elif exposure >= policy.unasked_exposure and not sexual_lean:
        category, reason = "sexual", f"{part} {exposure:.2f}, which the prompt never asked for"
    return PeopleVerdict(category, reason, person, exposure, seen)


_lock = threading.Lock()
_default: PeopleDetector | None = None


def default_detector() -> PeopleDetector:
    global _default
    with _lock:
        if _default is None:
            _default = NudeNetDetector()
        return _default
