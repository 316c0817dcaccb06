"""The size a task on a source makes when the client asks none: what the model and the plan can make."""

from __future__ import annotations

import pytest

from zoetrope.backends.base import Capabilities
from zoetrope.jobs.sizes import plan_size, size_for_source

MINI = Capabilities(
    tasks=("t2v",),
    sizes=((64, 64), (112, 64), (64, 112), (128, 128)),
    max_seconds=20,
    fps=8,
    default_steps=16,
)


@pytest.mark.parametrize(
    ("source", "max_short", "made"),
    [
        ((1920, 1080), None, "1920x1080"),  # the model's aspect: the source's own size
        ((640, 480), None, "840x480"),  # 4:3: the nearest aspect (7:4) that holds it whole
        ((101, 57), None, "102x58"),  # even sides, as H.264 writes them
        ((1920, 1080), 720, "1280x720"),  # no larger than a 720p plan makes
        ((4032, 3024), 720, "1260x720"),  # a phone photo on a 720p plan
        ((16, 64), None, "64x112"),  # too small to round to even on its aspect: the native size
    ],
)
def test_a_source_sets_a_size_the_model_and_plan_can_make(source, max_short, made):
    assert size_for_source(*source, MINI, max_short) == made


def test_every_source_size_gives_a_size_the_model_accepts():
    for width in range(16, 420, 7):
        for height in range(16, 420, 5):
            for max_short in (None, 480):
                size = size_for_source(width, height, MINI, max_short)
                w, h = map(int, size.split("x"))
                plan_size(size, MINI, "zoetrope-mini")  # raises for an aspect the model cannot make
                assert w % 2 == 0 and h % 2 == 0 and min(w, h) >= 16, (width, height, size)
                assert max_short is None or min(w, h) <= max_short, (width, height, size)
