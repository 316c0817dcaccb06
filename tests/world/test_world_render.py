"""The renderer: deterministic, any size and aspect ratio, motion in seconds, anti-aliased."""

from __future__ import annotations

import numpy as np
import pytest

from zoetrope.world import Background, Scene, WorldObject, render, render_batch, sample_scene


def _one(shape="circle", color="red", motion="still", **kw) -> Scene:
    return Scene(Background("solid", "gray"), (WorldObject(shape, color, "large", motion, **kw),))


def test_render_is_deterministic_and_batching_changes_nothing():
    rng = np.random.default_rng(7)
    scenes = [sample_scene(rng) for _ in range(6)]
    batch = render_batch(scenes, frames=8, height=48, width=64)
    assert batch.dtype == np.uint8 and batch.shape == (6, 8, 48, 64, 3)
    for scene, clip in zip(scenes, batch, strict=True):
        np.testing.assert_array_equal(render(scene, frames=8, height=48, width=64), clip)


@pytest.mark.parametrize(("height", "width"), [(64, 64), (36, 64), (96, 40), (17, 23)])
def test_any_size_and_aspect_ratio_keeps_circles_round(height, width):
    clip = render(_one(), frames=1, height=height, width=width)
    assert clip.shape == (1, height, width, 3)
    red = (clip[0, :, :, 0].astype(int) - clip[0, :, :, 1]) > 60
    ys, xs = np.nonzero(red)
    assert abs((xs.max() - xs.min()) - (ys.max() - ys.min())) <= 1


def test_edges_are_anti_aliased():
    frame = render(_one(), frames=1, height=64, width=64)[0, :, :, 0]
    levels = np.unique(frame)
    assert len(levels) > 5  # partial coverage between the backdrop's red and the circle's


def test_motion_is_defined_in_seconds():
    scene = _one(motion="right", speed="fast", x=0.2)
    short = render(scene, frames=8, height=64, width=64, fps=8)
    long = render(scene, frames=16, height=64, width=64, fps=8)
    np.testing.assert_array_equal(short, long[:8])
    double = render(scene, frames=16, height=64, width=64, fps=16)
    np.testing.assert_array_equal(double[::2], short)


def _centre(frame: np.ndarray) -> tuple[float, float]:
    mask = (frame[..., 0].astype(int) - frame[..., 1]) > 60
    ys, xs = np.nonzero(mask)
    return float(xs.mean()), float(ys.mean())


@pytest.mark.parametrize(("motion", "dx", "dy"), [("right", 1, 0), ("up", 0, -1), ("down-left", -1, 1)])
def test_objects_move_the_way_their_motion_says(motion, dx, dy):
    clip = render(_one(motion=motion, speed="fast"), frames=16, height=64, width=64)
    (x0, y0), (x1, y1) = _centre(clip[0]), _centre(clip[-1])
    assert np.sign(round(x1 - x0)) == dx and np.sign(round(y1 - y0)) == dy


def test_every_shape_draws_a_distinct_silhouette():
    masks = {}
    for shape in ("circle", "square", "triangle", "star", "ring", "cross", "heart"):
        frame = render(_one(shape=shape), frames=1, height=64, width=64)[0]
        masks[shape] = (frame[..., 0].astype(int) - frame[..., 1]) > 60
        assert 40 < masks[shape].sum() < 64 * 64 / 2
    names = list(masks)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert (masks[a] ^ masks[b]).sum() > 20, (a, b)


def test_fade_and_color_change_and_grow_act_over_time():
    fade = render(_one(motion="fade in"), frames=16, height=32, width=32)
    assert np.abs(fade[0].astype(int) - 120).max() <= 4 and fade[-1, 16, 16, 0] > 200
    change = render(_one(motion="color change", color_to="blue"), frames=16, height=32, width=32)
    assert change[0, 16, 16, 0] > 200 and change[-1, 16, 16, 2] > 200
    grow = render(_one(motion="grow"), frames=16, height=32, width=32)
    area = ((grow[..., 0].astype(int) - grow[..., 1]) > 60).sum(axis=(1, 2))
    assert area[-1] > 2 * area[0]
