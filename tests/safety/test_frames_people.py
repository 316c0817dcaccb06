"""The people check of the output filter: the detector runs offline, and its findings are judged
against the prompt (minors, nudity nobody asked for) for backends that can depict people."""

from __future__ import annotations

import socket

import numpy as np
import pytest

from zoetrope.backends.base import Capabilities
from zoetrope.backends.bundled import BundledBackend
from zoetrope.errors import OutputBlocked
from zoetrope.safety import check_frames, moderate_frames
from zoetrope.safety.people import Detection, NudeNetDetector, default_frame_policy, judge
from zoetrope.world import render, sample_scene

POLICY = default_frame_policy()


def _world_clip(seed: int = 3, size: int = 128) -> np.ndarray:
    return render(sample_scene(np.random.default_rng(seed)), frames=16, height=size, width=size)


class _Sees:
    """A detector that reports the same findings in every frame, and counts its calls."""

    def __init__(self, *detections: Detection) -> None:
        self.detections, self.calls = list(detections), 0

    def detect(self, frames):
        self.calls += 1
        return [self.detections for _ in frames]


def _judge(prompt: str, *detections: Detection, scores: dict[str, float] | None = None):
    return judge([list(detections)], scores or {}, POLICY.minor_words(prompt), POLICY)


def test_nudenet_loads_offline_and_sees_no_exposure_on_a_world_clip(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the detector tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    clip = _world_clip()
    found = NudeNetDetector().detect(list(clip[::2]))  # the 8 frames the filter samples of 16
    assert len(found) == 8
    verdict = judge(found, {}, None, POLICY)
    assert verdict.exposure == 0.0 and verdict.category is None


def test_exposure_with_a_prompt_about_minors_is_blocked_as_sexual_minors():
    exposed = (Detection("FACE_FEMALE", 0.8), Detection("BUTTOCKS_EXPOSED", POLICY.minors_exposure))
    for prompt in ("two kids playing at the beach", "a 12yo skateboarding", "a TEENAGER at a party"):
        verdict = _judge(prompt, *exposed)
        assert verdict.category == "sexual/minors", prompt
    # The semantic layer leaning to minors counts like the words do.
    leaning = _judge("a picnic", *exposed, scores={"sexual/minors": POLICY.prompt_lean})
    assert leaning.category == "sexual/minors"
    # The same faint finding in a video about adults is below the bar for nudity.
    assert _judge("two women playing at the beach", *exposed).category is None


def test_nudity_the_prompt_never_asked_for_is_blocked():
    unasked = Detection("FEMALE_BREAST_EXPOSED", POLICY.unasked_exposure)
    assert _judge("a chef cooking pasta", unasked).category == "sexual"
    # A prompt that leaned sexual (but passed moderation) is held to the plain nudity threshold...
    assert _judge("a chef cooking pasta", unasked, scores={"sexual": POLICY.prompt_lean}).category is None
    # ...which blocks whatever the prompt said.
    sure = Detection("FEMALE_BREAST_EXPOSED", POLICY.sexual_exposure)
    assert _judge("a chef", sure, scores={"sexual": 0.4}).category == "sexual"


def test_bare_feet_and_bellies_of_children_pass():
    beach = (Detection("FACE_MALE", 0.9), Detection("FEET_EXPOSED", 0.9), Detection("BELLY_EXPOSED", 0.9),
             Detection("MALE_BREAST_EXPOSED", 0.9))  # fmt: skip
    verdict = _judge("a boy building a sandcastle", *beach)
    assert verdict.category is None and verdict.person == 0.9 and verdict.exposure == 0.0


def test_flagged_people_frames_raise_output_blocked_naming_the_category():
    detector = _Sees(Detection("FACE_FEMALE", 0.9), Detection("FEMALE_BREAST_EXPOSED", 0.35))
    frames = np.full((4, 64, 64, 3), 128, np.uint8)
    with pytest.raises(OutputBlocked) as e:
        moderate_frames(frames, prompt="a little girl on a swing", depicts_people=True, detector=detector)
    assert e.value.code == "output_blocked" and "sexual/minors" in e.value.message


def test_backends_that_cannot_depict_people_skip_the_people_check():
    detector = _Sees(Detection("FEMALE_BREAST_EXPOSED", 0.99))
    verdict = check_frames(_world_clip(size=64), prompt="a kid", depicts_people=False, detector=detector)
    assert not verdict.flagged and verdict.people is None and detector.calls == 0
    assert BundledBackend().capabilities.depicts_people is False
    # A backend that does not say is taken to be able to.
    assert Capabilities(
        tasks=("t2v",), sizes=((64, 64),), max_seconds=1, fps=8, default_steps=1
    ).depicts_people
