"""The analyzer: about 1 on every axis for the renderer's own clips, low on corrupted ones."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from zoetrope.eval import ALL_AXES, AXES, analyze, loop_continuity, seam_continuity, world_bench
from zoetrope.world import COLORS, Background, Scene, WorldObject, render, render_batch, sample_scene
from zoetrope.world.vocab import LINEAR_MOTIONS

N = 60


def _scenes(seed: int, split: str = "train", **kw) -> list[Scene]:
    rng = np.random.default_rng(seed)
    return [sample_scene(rng, split=split, **kw) for _ in range(N)]


def _mean_scores(clips, scenes) -> dict[str, float]:
    per_axis: dict[str, list[float]] = {}
    for clip, scene in zip(clips, scenes, strict=True):
        for axis, value in analyze(clip, scene).items():
            per_axis.setdefault(axis, []).append(value)
    return {axis: float(np.mean(v)) for axis, v in per_axis.items()}


@pytest.fixture(scope="module")
def truth():
    scenes = _scenes(11)
    return scenes, render_batch(scenes, frames=16, height=64, width=64)


def test_ground_truth_scores_at_least_98_percent_on_every_axis(truth):
    scores = _mean_scores(truth[1], truth[0])
    assert set(scores) == set(ALL_AXES)
    assert min(scores.values()) >= 0.98, scores


def test_world_bench_on_the_renderer_is_about_one_at_other_sizes():
    result = world_bench(None, n=24, seed=3, size=72)
    assert result["n"] == 24 and set(AXES) <= set(result)
    assert all(result[a] >= 0.98 for a in ALL_AXES if result[a] is not None), result


def _recolor(scene: Scene) -> Scene:
    names = list(COLORS)
    shift = {c: names[(i + 3) % len(names)] for i, c in enumerate(names)}
    objects = tuple(
        dataclasses.replace(o, color=shift[o.color], color_to=o.color_to and shift[o.color_to])
        for o in scene.objects
    )
    return dataclasses.replace(scene, objects=objects)


def test_wrong_color_renders_score_low_on_color(truth):
    scenes, _ = truth
    wrong = render_batch([_recolor(s) for s in scenes], frames=16, height=64, width=64)
    scores = _mean_scores(wrong, scenes)
    assert scores["color"] <= 0.1 and scores["shape"] >= 0.98, scores


def test_shuffled_frames_score_low_on_direction_and_speed():
    scenes = _scenes(12, motions=tuple(LINEAR_MOTIONS), max_objects=1)
    clips = render_batch(scenes, frames=16, height=64, width=64)
    order = np.random.default_rng(0).permutation(16)
    scores = _mean_scores(clips[:, order], scenes)
    assert scores["direction"] <= 0.2 and scores["speed"] <= 0.2, scores
    assert _mean_scores(clips, scenes)["direction"] >= 0.98


def test_flickering_backdrops_score_low_on_flicker(truth):
    scenes, clips = truth
    jitter = np.random.default_rng(1).integers(-25, 26, size=(1, 16, 1, 1, 1))
    flickering = np.clip(clips.astype(int) + jitter, 0, 255).astype(np.uint8)
    assert _mean_scores(flickering, scenes)["flicker"] <= 0.1


def test_missing_objects_fail_count():
    scene = Scene(
        Background("solid", "gray"),
        (WorldObject("star", "red", "large"), WorldObject("heart", "blue", x=0.2)),
    )
    only_one = dataclasses.replace(scene, objects=scene.objects[:1])
    assert analyze(render(scene, frames=8, height=64, width=64), scene)["count"] == 1.0
    scores = analyze(render(only_one, frames=8, height=64, width=64), scene)
    assert scores["count"] == 0.0 and scores["color"] == 0.5 and scores["shape"] == 0.5


def test_wrong_relation_fails_relation():
    scenes = [s for s in _scenes(13, max_objects=2) if s.relation][:8]
    swapped = [
        dataclasses.replace(s, objects=s.objects[::-1]) for s in scenes
    ]  # same objects, swapped places
    for scene, wrong in zip(scenes, swapped, strict=True):
        moved = tuple(
            dataclasses.replace(o, x=w.x, y=w.y) for o, w in zip(scene.objects, wrong.objects, strict=True)
        )
        clip = render(dataclasses.replace(scene, objects=moved), frames=8, height=64, width=64)
        assert analyze(clip, scene)["relation"] == 0.0
        assert analyze(render(scene, frames=8, height=64, width=64), scene)["relation"] == 1.0


def test_axes_that_do_not_apply_are_left_out():
    scene = Scene(Background("solid", "white"), (WorldObject("ring", "green", "large", "spin"),))
    image = analyze(render(scene, frames=1, height=64, width=96), scene)
    assert set(image) == {"color", "shape", "count"}
    with pytest.raises(ValueError):
        analyze(np.zeros((4, 8, 8)), scene)


def test_seams_and_loops_show_cuts():
    rng = np.random.default_rng(2)
    a, b = (
        render(sample_scene(rng, motions=("right",), max_objects=1), frames=16, height=64, width=64)
        for _ in range(2)
    )
    assert seam_continuity(a, 8) > 0.95
    assert seam_continuity(np.concatenate([a[:8], b[8:]]), 8) < 0.2
    glide = Scene(Background("solid", "gray"), (WorldObject("square", "red", "medium", "right", "fast"),))
    clip = render(glide, frames=16, height=64, width=64)
    assert loop_continuity(clip) < 0.5  # the square jumps back to the left where the loop restarts
    still = dataclasses.replace(glide, objects=(dataclasses.replace(glide.objects[0], motion="spin"),))
    assert loop_continuity(render(still, frames=16, height=64, width=64)) > 0.5
    with pytest.raises(ValueError):
        seam_continuity(a, 0)


def test_color_change_scores_when_no_blob_lies_near_the_track():
    """A generated clip can hold its only blobs far from where the object was tracked: the color
    change is then judged on the track's own colors instead of failing the whole bench."""
    import numpy as np

    from zoetrope.eval.analyze import _colors_ok
    from zoetrope.eval.segment import Blob
    from zoetrope.eval.tracks import ObjectTrack
    from zoetrope.world.scene import WorldObject

    def blob(t, x, rgb):
        return Blob(t=t, area=4, x=x, y=5.0, rgb=np.array(rgb, float), xs=np.zeros(4), ys=np.zeros(4), edge=False)

    track = ObjectTrack(blobs=[blob(0, 5.0, (220, 30, 30)), blob(7, 6.0, (30, 30, 220))])
    far = [[blob(t, 60.0, (30, 200, 30))] for t in range(8)]
    obj = WorldObject(shape="circle", color="red", motion="color change", color_to="blue")
    assert _colors_ok(track, obj, far) == 1.0
