"""The streaming dataset: batches of clips, captions and scenes, the same for the same seed."""

from __future__ import annotations

import itertools

import numpy as np

from zoetrope.world import HELD_OUT, Scene, WorldDataset


def _take(ds: WorldDataset, n: int):
    return list(itertools.islice(iter(ds), n))


def test_batches_have_the_promised_shapes_and_types():
    frames, captions, scenes = next(iter(WorldDataset(0, frames=6, height=32, width=48, batch=5)))
    assert frames.shape == (5, 6, 32, 48, 3) and frames.dtype == np.uint8
    assert len(captions) == len(scenes) == 5
    assert all(isinstance(c, str) and c for c in captions) and all(isinstance(s, Scene) for s in scenes)


def test_same_seed_streams_the_same_batches():
    a = _take(WorldDataset(3, frames=4, height=16, width=16, batch=3), 3)
    b = _take(WorldDataset(3, frames=4, height=16, width=16, batch=3), 3)
    c = _take(WorldDataset(4, frames=4, height=16, width=16, batch=3), 3)
    for (fa, ca, sa), (fb, cb, sb) in zip(a, b, strict=True):
        np.testing.assert_array_equal(fa, fb)
        assert ca == cb and sa == sb
    assert a[0][2] != c[0][2]


def test_shards_split_the_stream_without_overlap():
    whole = WorldDataset(1, frames=2, height=8, width=8, batch=2, limit=4)
    parts = [WorldDataset(1, frames=2, height=8, width=8, batch=2, limit=4, shard=(k, 2)) for k in range(2)]
    scenes = [s for _, _, ss in whole for s in ss]
    shard0, shard1 = ([s for _, _, ss in p for s in ss] for p in parts)
    assert shard0 == scenes[0:2] + scenes[4:6] and shard1 == scenes[2:4] + scenes[6:8]


def test_keywords_reach_the_scene_sampler():
    ds = WorldDataset(0, frames=2, height=8, width=8, batch=16, split="heldout", max_objects=1, limit=1)
    for _, _, scenes in ds:
        assert all(len(s.objects) == 1 and set(s.combos()) <= HELD_OUT for s in scenes)
