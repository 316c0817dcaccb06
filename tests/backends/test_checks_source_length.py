"""The model's length limit on tasks on a video (`zoetrope.backends.checks.check_request`): when the
source alone leaves no room, the refusal names the source video and says how to trim it; when it
fits, it names `seconds` (`extend` for a re-cut) with an amount that, sent back, is accepted."""

from __future__ import annotations

import numpy as np
import pytest

from zoetrope.backends.base import GenerationRequest
from zoetrope.backends.checks import check_request
from zoetrope.errors import InvalidRequest

FPS = 8
LIMIT = 60.0


def clip(seconds: float) -> np.ndarray:
    return np.zeros((round(seconds * FPS), 1, 1, 3), np.uint8)


def check(**kw) -> None:
    check_request(GenerationRequest(prompt="a ball", width=64, height=64, **kw), fps=FPS, max_seconds=LIMIT)


def refused(**kw) -> InvalidRequest:
    with pytest.raises(InvalidRequest) as e:
        check(**kw)
    assert e.value.status == 400 and e.value.code == "invalid_request"
    return e.value


@pytest.mark.parametrize("task", ["extend", "extend_backward", "loop"])
def test_a_source_over_the_limit_names_the_video_and_how_to_trim_it(task):
    """A 75 s video and 1 s more: no `seconds` can fit (it was 'ask for 0.0 s or fewer')."""
    e = refused(task=task, source=clip(75), seconds=1)
    assert e.param == "video"
    assert "75.0 s" in e.message and "the limit is 60 s" in e.message
    assert "trim it to 59 s or less" in e.message and "recut" in e.message and "--end 59" in e.message
    assert "ask for" not in e.message and "0.0 s" not in e.message
    check(task=task, source=clip(59), seconds=1)  # the fix it gives is accepted


def test_a_source_that_leaves_less_than_one_step_is_the_source_case():
    """59.75 s leaves 2 frames; new footage comes in steps of 4 (0.5 s at 8 fps): nothing fits."""
    e = refused(task="extend", source=clip(59.75), seconds=0.5)
    assert e.param == "video" and "trim it to 59.5 s or less" in e.message
    check(task="extend", source=clip(59.5), seconds=0.5)


def test_a_source_that_fits_names_seconds_with_an_amount_that_is_accepted():
    e = refused(task="extend", source=clip(59), seconds=2)
    assert (
        e.param == "seconds" and e.message == "the result would be 61.0 s; the limit is 60 s: add at most 1 s"
    )
    check(task="extend", source=clip(59), seconds=1)
    # 58.25 s leaves 14 frames: 12 of them are whole steps, 1.5 s (1.75 s would be made as 16 frames)
    e = refused(task="extend", source=clip(58.25), seconds=4)
    assert e.param == "seconds" and e.message.endswith("add at most 1.5 s")


@pytest.mark.parametrize("seconds", [4.0, 75.0])
def test_a_remix_of_a_long_video_names_the_video_never_seconds(seconds):
    """A remix lasts as long as its source, whatever `seconds` says (the CLI leaves it at 4)."""
    e = refused(task="remix", source=clip(75), seconds=seconds)
    assert e.param == "video"
    assert "remix keeps its source's length" in e.message and "trim it to 60 s or less" in e.message
    assert "ask for" not in e.message and "or fewer" not in e.message
    check(task="remix", source=clip(60), seconds=seconds)


def test_a_blend_of_two_videos_with_no_room_names_the_videos():
    e = refused(task="blend", source=clip(40), target=clip(30), seconds=1)
    assert e.param == "video" and "the two videos are already 70.0 s" in e.message
    assert "trim them to 59 s or less together" in e.message
    assert "--end 59" not in e.message  # two clips: no one cut of one file is the fix


def test_a_recut_names_extend_when_the_cut_fits_and_end_when_it_does_not():
    e = refused(task="recut", source=clip(60), trim=(0.0, 58.0), seconds=4)
    assert e.param == "extend" and e.message.endswith("add at most 2 s")
    e = refused(task="recut", source=clip(60), trim=(0.0, 59.875), seconds=1)
    assert e.param == "end" and "end the cut earlier" in e.message


def test_text_to_video_still_names_seconds():
    e = refused(task="t2v", seconds=61)
    assert (
        e.param == "seconds"
        and e.message == "the result would be 61.0 s; the limit is 60 s: ask for 60.0 s or fewer"
    )


def test_a_length_just_over_the_limit_is_shown_over_it():
    # "the result would be 60.0 s; the limit is 60 s" read as a refusal of what is allowed
    assert refused(task="t2v", seconds=60.01).message.startswith("the result would be 60.01 s; the limit is 60 s")
    assert refused(task="extend", source=clip(2), seconds=58.004).message.startswith("the result would be 60.004 s")


@pytest.mark.parametrize("steps", [0, 1001, 100_000])
def test_steps_outside_1_to_1000_are_refused_naming_the_range(steps):
    """Every caller (the Python API, the CLI, a config's defaults) gets the same limit."""
    e = refused(steps=steps)
    assert e.param == "steps" and "from 1 to 1000" in e.message and f"got {steps}" in e.message


@pytest.mark.parametrize("seed", [-(10**400), 10**400, 2**63], ids=["-10**400", "10**400", "2**63"])
def test_a_seed_out_of_range_is_refused_in_a_short_line(seed):
    e = refused(task="t2v", seconds=1, seed=seed)
    assert e.param == "seed" and "between 0 and 9223372036854775807" in e.message
    assert len(e.message) < 120  # a 400-digit seed was echoed whole
