"""The training world: procedural scenes, their clips and their captions.

`sample_scene` draws a `Scene`, `render` turns it into uint8 frames (T, H, W, 3) at any
size, `caption` describes it in words, and `WorldDataset` streams all three in batches.
"""

from zoetrope.world.caption import caption
from zoetrope.world.dataset import WorldDataset
from zoetrope.world.motion import Track, scene_tracks
from zoetrope.world.render import render, render_batch
from zoetrope.world.scene import Background, Camera, Relation, Scene, WorldObject, sample_scene
from zoetrope.world.vocab import COLORS, HELD_OUT, MOTIONS, SHAPES, SIZES

__all__ = [
    "COLORS",
    "HELD_OUT",
    "MOTIONS",
    "SHAPES",
    "SIZES",
    "Background",
    "Camera",
    "Relation",
    "Scene",
    "Track",
    "WorldDataset",
    "WorldObject",
    "caption",
    "render",
    "render_batch",
    "sample_scene",
    "scene_tracks",
]
