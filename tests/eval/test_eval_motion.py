"""The motion axis: each kind of movement is told apart from the wrong one."""

from __future__ import annotations

import dataclasses

import pytest

from zoetrope.eval import analyze
from zoetrope.world import Background, Camera, Scene, WorldObject, render


def _scene(motion: str, camera: str = "static", shape: str = "star") -> Scene:
    obj = WorldObject(shape, "orange", "medium", motion, "fast", x=0.45, y=0.4, color_to="blue")
    return Scene(Background("gradient", "slate", "cream"), (obj,), Camera(camera))


@pytest.mark.parametrize(
    ("asked", "shown"),
    [
        ("bounce", "still"),
        ("orbit", "still"),
        ("spin", "still"),
        ("grow", "shrink"),
        ("shrink", "grow"),
        ("fade in", "fade out"),
        ("fade out", "fade in"),
        ("color change", "still"),
        ("still", "orbit"),
    ],
)
def test_each_motion_scores_one_when_shown_and_zero_when_another_is(asked, shown):
    wanted = _scene(asked)
    assert analyze(render(wanted, frames=16, height=64, width=64), wanted)["motion"] == 1.0
    assert analyze(render(_scene(shown), frames=16, height=64, width=64), wanted)["motion"] == 0.0


@pytest.mark.parametrize(
    ("asked", "shown"),
    [("pan left", "pan right"), ("pan up", "static"), ("zoom in", "zoom out"), ("zoom out", "static")],
)
def test_camera_moves_are_checked(asked, shown):
    wanted = _scene("still", asked, shape="square")
    assert analyze(render(wanted, frames=16, height=64, width=64), wanted)["motion"] == 1.0
    wrong = dataclasses.replace(wanted, camera=Camera(shown))
    assert analyze(render(wrong, frames=16, height=64, width=64), wanted)["motion"] < 1.0
