"""The analyzer: per-axis scores of one clip against the scene its prompt asked for."""

from __future__ import annotations

import numpy as np

from zoetrope.eval.motion import camera_ok, glide, motion_ok
from zoetrope.eval.segment import Blob, blobs
from zoetrope.eval.temporal import flicker, stability
from zoetrope.eval.tracks import ObjectTrack, color_name, count_objects, link, pair
from zoetrope.world import Scene, WorldObject
from zoetrope.world.vocab import LINEAR_MOTIONS, SPEEDS

AXES = ("color", "shape", "count", "direction", "speed", "relation", "consistency", "flicker")
# Also measured: "motion", every other motion (bounce, orbit, spin, grow, fade...) and the camera's.
ALL_AXES = (*AXES, "motion")
STEADY_FIT = 0.8  # R^2 of a straight-line fit above which a track is a steady glide
MIN_SPEED = 0.04  # frame fractions per second below which nothing moves
FAST_SPEED = float(np.sqrt(SPEEDS["slow"] * SPEEDS["fast"]))  # the boundary between slow and fast
# Motions that change an object's look on purpose: no stability check for them.
FAINT_DIFF = 8.0  # backdrop pixels differ from the estimate by less: fading objects are kept out of flicker
CHANGING = ("grow", "shrink", "fade in", "fade out", "color change")


def _colors_ok(track: ObjectTrack, obj: WorldObject, per_frame: list[list[Blob]] | None = None) -> float:
    """1 when the object shows the asked color (a color change: half for each end color)."""
    colors = track.colors()
    if obj.motion == "color change" and obj.color_to and len(colors) >= 2:
        start, end = _ends(track, per_frame) if per_frame else (colors[:1], colors[-1:])
        return 0.5 * (color_name(np.median(start, 0)) == obj.color) + 0.5 * (
            color_name(np.median(end, 0)) == obj.color_to
        )
    return float(color_name(np.median(colors, axis=0)) == obj.color)


def _ends(track: ObjectTrack, per_frame: list[list[Blob]]) -> tuple[np.ndarray, np.ndarray]:
    """Colors of the object in the first and last quarter of the clip, taken from every frame (not
    only those where all objects stand apart): the blob nearest to where the track is."""
    _, xs, ys, _ = track.arrays()
    x, y, reach = xs.mean(), ys.mean(), 2.0 * np.sqrt(max(track.arrays()[3].max(), 1.0))
    near = [min(f, key=lambda b: np.hypot(b.x - x, b.y - y)) for f in per_frame if f]
    near = [b for b in near if np.hypot(b.x - x, b.y - y) < reach]
    if not near:  # no blob of any frame lies where the track is: fall back on the track's own colors
        colors = track.colors()
        return np.array(colors[:1]), np.array(colors[-1:])
    quarter = max(1, len(per_frame) // 4)
    start = [b.rgb for b in near if b.t < quarter] or [near[0].rgb]
    end = [b.rgb for b in near if b.t >= len(per_frame) - quarter] or [near[-1].rgb]
    return np.array(start), np.array(end)


def _direction_of(v: np.ndarray) -> str:
    return max(LINEAR_MOTIONS, key=lambda m: float(np.dot(LINEAR_MOTIONS[m], v)))


def _relation_ok(relation: str, subject: ObjectTrack, obj: ObjectTrack) -> float:
    _, xs, ys, _ = subject.arrays()
    _, xo, yo, _ = obj.arrays()
    dx, dy = float(xs.mean() - xo.mean()), float(ys.mean() - yo.mean())
    wanted = {"left of": -dx, "right of": dx, "above": -dy, "below": dy}[relation]
    across = abs(dy) if relation in ("left of", "right of") else abs(dx)
    return float(wanted > 0 and wanted > across)


def analyze(frames: np.ndarray, scene: Scene, fps: int = 8) -> dict[str, float]:
    """Per-axis scores in 0..1 of one clip (uint8 (T, H, W, 3)) against `scene`; axes that do
    not apply to the scene are left out."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"frames must be (T, H, W, 3), not {frames.shape}")
    n_frames, height, width, _ = frames.shape
    per_frame, diff = blobs(frames)
    found = count_objects(per_frame)
    tracks = link(per_frame, found, width, height)
    objs = scene.objects
    shapes = [tr.shape() for tr in tracks]
    agreement = np.array(
        [[_colors_ok(tr, o) + (shapes[j] == o.shape) for j, tr in enumerate(tracks)] for o in objs]
    ).reshape(len(objs), len(tracks))
    match = pair(tracks, agreement)

    scores: dict[str, list[float]] = {a: [] for a in ALL_AXES}
    scores["count"].append(float(found == len(objs)))
    for i, obj in enumerate(objs):
        tr = tracks[match[i]] if i in match else None
        scores["color"].append(_colors_ok(tr, obj, per_frame) if tr else 0.0)
        scores["shape"].append(float(tr is not None and shapes[match[i]] == obj.shape))
        if obj.motion in LINEAR_MOTIONS and n_frames >= 3:
            v, r2 = glide(tr, fps, width, height) if tr else (np.zeros(2), 0.0)
            steady = r2 >= STEADY_FIT and float(np.hypot(*v)) >= MIN_SPEED
            scores["direction"].append(float(steady and _direction_of(v) == obj.motion))
            fast = float(np.hypot(*v)) >= FAST_SPEED
            scores["speed"].append(float(steady and fast == (obj.speed == "fast")))
        elif n_frames >= 3:
            moved = motion_ok(i, scene, tr, diff, fps) if tr else 0.0
            if moved is not None:
                scores["motion"].append(moved)
        mover = scene.occlusion and i == 0
        if obj.motion not in CHANGING and not mover and scene.camera.motion not in ("zoom in", "zoom out"):
            whole = [b for b in tr.blobs if not b.edge] if tr else []
            steady_look = stability(
                np.array([b.area for b in whole], float), np.array([b.rgb for b in whole])
            )
            if tr is None:
                scores["consistency"].append(0.0)
            elif steady_look is not None:
                scores["consistency"].append(steady_look)
    if scene.relation is not None:
        rel = scene.relation
        a, b = match.get(rel.subject), match.get(rel.object)
        ok = a is not None and b is not None and _relation_ok(rel.relation, tracks[a], tracks[b])
        scores["relation"].append(float(ok))
    if n_frames >= 3:
        camera = camera_ok(scene, {i: tracks[j] for i, j in match.items()}, fps, width, height)
        if camera is not None:
            scores["motion"].append(camera)
    steady_backdrop = flicker(frames, diff > FAINT_DIFF)
    if steady_backdrop is not None:
        scores["flicker"].append(steady_backdrop)
    return {axis: float(np.mean(v)) for axis, v in scores.items() if v}
