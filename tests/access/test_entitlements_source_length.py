"""A plan's length limit on tasks on a video: when the source alone reaches the limit, no `seconds`
can help, so the refusal names the source video and how to trim it (and a plan that allows the
length, if one does); when the source fits, it names `seconds` with how much may be added."""

from __future__ import annotations

from dataclasses import replace

import pytest

from zoetrope.access.entitlements import RequestSummary, check_request
from zoetrope.config import load_config
from zoetrope.errors import EntitlementExceeded

CFG = load_config()


def summary(seconds: float, task: str, new_seconds: float | None = None) -> RequestSummary:
    return RequestSummary(
        model="zoetrope-mini", width=1280, height=720, seconds=seconds, task=task, new_seconds=new_seconds
    )


def refused(plan: str, r: RequestSummary) -> EntitlementExceeded:
    with pytest.raises(EntitlementExceeded) as e:
        check_request(CFG, CFG.plan(plan), r)
    assert e.value.status == 403 and e.value.code == "duration_exceeds_plan"
    return e.value


@pytest.mark.parametrize("task", ["extend", "extend_backward", "loop"])
def test_a_source_at_or_over_the_limit_names_the_video_not_seconds(task):
    """30 s extended by 1 s on pro (20 s): it said 'add at most 0 s', naming seconds."""
    e = refused("pro", summary(31, task, new_seconds=1))
    assert e.param == "video"
    assert e.message.startswith("pro allows up to 20 s, and the video is already 30 s")
    assert "Trim it to 19 s or less first" in e.message and "/recut" in e.message
    assert "zoetrope recut FILE --start 0 --end 19" in e.message
    assert "add at most" not in e.message
    check_request(CFG, CFG.plan("pro"), summary(20, task, new_seconds=1))  # 19 s + 1 s: the fix it gives
    # A source exactly at the limit leaves nothing to add either
    assert refused("pro", summary(20.5, task, new_seconds=0.5)).param == "video"


def test_a_source_over_the_limit_points_to_a_plan_that_allows_the_result():
    e = refused("plus", summary(16, "extend", new_seconds=1))
    assert e.param == "video" and e.message.endswith("or use a shorter clip or upgrade to pro")


def test_asking_to_add_the_whole_limit_to_a_long_source_says_both_must_shrink():
    e = refused("pro", summary(55, "extend", new_seconds=25))
    assert e.param == "video" and "add less" in e.message and "--start S --end E" in e.message


def test_a_remix_of_a_long_video_names_the_video_and_never_suggests_seconds():
    """A remix keeps its source's length: 'ask for 20 s' was refused by the remix itself."""
    e = refused("pro", summary(30, "remix"))
    assert e.param == "video"
    assert "a remix keeps its source's length: the video is 30 s" in e.message
    assert "Trim it to 20 s or less first" in e.message and "--end 20" in e.message
    assert "ask for" not in e.message and "seconds" not in e.message
    assert refused("plus", summary(15, "remix")).message.endswith("or upgrade to pro")


def test_a_blend_with_no_room_names_the_videos():
    e = refused("pro", summary(25, "blend", new_seconds=1))
    assert e.param == "video" and "the two videos are already 24 s" in e.message
    assert "Trim them to 19 s or less together" in e.message
    assert "--end 19" not in e.message  # two clips: no one cut of one file is the fix


def test_a_recut_over_the_limit_names_its_range_not_seconds():
    e = refused("pro", summary(25, "recut"))
    assert e.param == "end" and "keep a shorter range between start and end" in e.message


def test_a_source_that_fits_still_names_seconds_with_how_much_to_add():
    e = refused("pro", summary(25, "extend", new_seconds=10))
    assert e.param == "seconds"
    assert e.message == "pro allows up to 20 s; the result would be 25 s: add at most 5 s"


def test_with_the_models_frame_rate_the_room_is_whole_steps_of_new_footage():
    """At 8 fps new footage comes in steps of 0.5 s: 0.75 s of room is one step; under a step is none."""
    step = RequestSummary(
        model="zoetrope-mini", width=1280, height=720, seconds=20.25, task="extend", new_seconds=1
    )
    assert refused("pro", step).message.endswith("add at most 0.75 s")  # no frame rate: the room as it is
    e = refused("pro", replace(step, fps=8))
    assert e.param == "seconds" and e.message.endswith("add at most 0.5 s")
    tight = replace(step, seconds=20.875, fps=8)  # 19.875 s leaves 0.125 s: one frame, no step
    e = refused("pro", tight)
    assert e.param == "video" and "already 19.875 s" in e.message and "Trim it to 19 s or less" in e.message
    check_request(
        CFG, CFG.plan("pro"), replace(step, seconds=19.75, new_seconds=0.5, fps=8)
    )  # the fix it gives


def test_the_plans_step_is_the_models():
    from zoetrope.access import entitlements
    from zoetrope.backends import checks

    assert entitlements.STEP_FRAMES == checks.STEP_FRAMES == checks.extension_frames(0.01, 8)
