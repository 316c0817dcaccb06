"""Scenes: sampling is deterministic, respects its options and keeps held-out combinations apart."""

from __future__ import annotations

import numpy as np
import pytest

from zoetrope.world import HELD_OUT, sample_scene
from zoetrope.world.vocab import ALL_COMBOS, LINEAR_MOTIONS, STATIONARY_MOTIONS


def _scenes(n: int, seed: int = 0, **kw):
    rng = np.random.default_rng(seed)
    return [sample_scene(rng, **kw) for _ in range(n)]


def test_same_seed_gives_the_same_scenes():
    assert _scenes(50, seed=3) == _scenes(50, seed=3)
    assert _scenes(50, seed=3) != _scenes(50, seed=4)


def test_held_out_is_about_a_tenth_of_all_combinations():
    assert 0.07 < len(HELD_OUT) / len(ALL_COMBOS) < 0.13


def test_train_split_never_uses_a_held_out_combination():
    for scene in _scenes(1500, split="train"):
        assert not set(scene.combos()) & HELD_OUT


def test_heldout_split_uses_only_held_out_combinations():
    seen = set()
    for scene in _scenes(800, split="heldout"):
        assert set(scene.combos()) <= HELD_OUT
        seen |= set(scene.combos())
    assert len(seen) > len(HELD_OUT) // 2


def test_every_layout_appears_and_objects_in_a_scene_have_distinct_colors():
    scenes = _scenes(600)
    assert {len(s.objects) for s in scenes} == {1, 2, 3}
    assert any(s.relation for s in scenes) and any(s.occlusion for s in scenes)
    assert any(s.camera.motion != "static" for s in scenes)
    for s in scenes:
        assert len({o.color for o in s.objects}) == len(s.objects)


def test_options_restrict_motions_objects_backgrounds_and_camera():
    for s in _scenes(
        200, motions=("left", "right", "still"), max_objects=1, backgrounds=("sky",), camera=False
    ):
        assert len(s.objects) == 1 and s.objects[0].motion in ("left", "right", "still")
        assert s.background.kind == "sky" and s.camera.motion == "static"


def test_camera_moves_only_over_objects_that_stay_in_place():
    for s in _scenes(600):
        if s.camera.motion != "static":
            assert all(o.motion in STATIONARY_MOTIONS for o in s.objects)


def test_occluded_object_moves_across_its_screen():
    for s in _scenes(400):
        if s.occlusion:
            mover, screen = s.objects
            assert mover.motion in LINEAR_MOTIONS and screen.motion == "still"
            assert SIZES_ORDER.index(mover.size) < SIZES_ORDER.index(screen.size)


SIZES_ORDER = ["small", "medium", "large"]


def test_unknown_options_are_refused():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError):
        sample_scene(rng, split="test")
    with pytest.raises(ValueError):
        sample_scene(rng, motions=("teleport",))
