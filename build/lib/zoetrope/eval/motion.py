"""Whether an object moves the way the scene asked: glides, bounces, orbits, spins, grows,
shrinks, fades, changes color, stays still; and whether the camera pans or zooms."""

from __future__ import annotations

import numpy as np

from zoetrope.eval.silhouette import orientation
from zoetrope.eval.tracks import ObjectTrack, color_name
from zoetrope.world import Scene
from zoetrope.world.motion import camera_view, world_path
from zoetrope.world.vocab import CAMERA_PAN_SPEED

MIN_SPEED = 0.04  # frame fractions per second below which nothing moves
MIN_TURN = 0.4  # radians an object must turn to count as spinning
MIN_SWEEP = np.pi / 2  # radians an orbit must sweep round its centre
FADE_RATIO = 2.0  # how much stronger (or weaker) a fading object ends than it starts


def glide(track: ObjectTrack, fps: int, width: int, height: int) -> tuple[np.ndarray, float]:
    """(velocity (2,) in frame fractions per second, R^2 of the straight-line fit)."""
    t, x, y, _ = track.arrays()
    if len(t) < 3:
        return np.zeros(2), 0.0
    secs = t / fps
    pos = np.stack([x / width, y / height], 1)  # (n, 2)
    design = np.stack([secs, np.ones_like(secs)], 1)
    coef, *_ = np.linalg.lstsq(design, pos, rcond=None)
    resid = pos - design @ coef
    total = ((pos - pos.mean(0)) ** 2).sum()
    r2 = 1.0 - float((resid**2).sum() / total) if total > 1e-12 else 0.0
    return coef[0], r2


def _ends(values: np.ndarray) -> tuple[float, float]:
    k = max(1, len(values) // 4)
    return float(np.median(values[:k])), float(np.median(values[-k:]))


def _size_change_ok(i: int, scene: Scene, track: ObjectTrack, fps: int, width: int, height: int) -> bool:
    """The area grows or shrinks the way motion and zoom say, by at least half as much (in log)."""
    t, _, _, area = track.arrays()
    secs = t / fps
    _, _, scale = world_path(scene.objects[i], scene, secs, height, width)
    zoom = camera_view(scene.camera, secs)[2]
    expected = 2 * np.log((scale[-1] * zoom[-1]) / (scale[0] * zoom[0]))
    first, last = _ends(area)
    measured = np.log(max(last, 1.0) / max(first, 1.0))
    return bool(measured / expected >= 0.5) if abs(expected) > 0.2 else abs(measured) < 0.2


def _presence(track: ObjectTrack, diff: np.ndarray) -> np.ndarray:
    """How strongly the object stands out in every frame: (T,) summed backdrop difference near it."""
    _, xs, ys, area = track.arrays()
    reach = 1.5 * np.sqrt(area.max() / np.pi) + 1
    yy, xx = np.mgrid[: diff.shape[1], : diff.shape[2]]
    near = np.hypot(xx - xs.mean(), yy - ys.mean()) <= reach
    return diff[:, near].sum(axis=1)


def _turn(track: ObjectTrack, shape: str) -> float | None:
    angles = [orientation(b.xs, b.ys, shape) for b in track.blobs if not b.edge]
    if not angles or angles[0] is None or len(angles) < 3:
        return None
    k = {"triangle": 3, "square": 4, "cross": 4, "star": 5}.get(shape, 1)
    steps = np.diff(np.asarray(angles) * k)
    steps = (steps + np.pi) % (2 * np.pi) - np.pi  # the nearest equivalent turn between frames
    return float(abs(steps.sum()) / k)


def motion_ok(i: int, scene: Scene, track: ObjectTrack, diff: np.ndarray, fps: int) -> float | None:
    """1 when object i moves as its motion says, 0 when not, None for motions judged elsewhere."""
    obj = scene.objects[i]
    _, height, width = diff.shape
    t, x, y, _ = track.arrays(extended=True)
    if len(t) < 3:
        return 0.0
    m = obj.motion
    if m == "still":
        if scene.camera.motion.startswith("zoom"):
            return None  # a zoom moves off-centre objects: judged by camera_ok
        v, _ = glide(track, fps, width, height)
        cam = _camera_velocity(scene)
        return float(np.hypot(*(v - cam)) < MIN_SPEED)
    if m == "bounce":
        # Image rows grow downwards: a bounce is a frame lower than an earlier one and a later one.
        fell = y - np.minimum.accumulate(y)
        rose = y - np.minimum.accumulate(y[::-1])[::-1]
        return float(np.any((fell >= 0.1 * height) & (rose >= 0.04 * height)))
    if m == "orbit":
        a = np.unwrap(np.arctan2(y - y.mean(), x - x.mean()))
        radius = np.hypot(x - x.mean(), y - y.mean()).mean()
        return float(abs(a[-1] - a[0]) >= MIN_SWEEP and radius >= 0.04 * min(width, height))
    if m == "spin":
        turned = _turn(track, obj.shape)
        return None if turned is None else float(turned >= MIN_TURN)
    if m in ("grow", "shrink"):
        return float(_size_change_ok(i, scene, track, fps, width, height))
    if m in ("fade in", "fade out"):
        start, end = _ends(_presence(track, diff))
        ratio = (end + 1.0) / (start + 1.0)
        return float(ratio >= FADE_RATIO if m == "fade in" else ratio <= 1 / FADE_RATIO)
    if m == "color change":
        colors = track.colors()
        return float(color_name(colors[0]) != color_name(colors[-1]))
    return None  # straight glides: the direction and speed axes


def _camera_velocity(scene: Scene) -> np.ndarray:
    """On-screen velocity that a pan gives everything still, frame fractions per second."""
    m, v = scene.camera.motion, CAMERA_PAN_SPEED
    return {
        "pan left": np.array([v, 0.0]),
        "pan right": np.array([-v, 0.0]),
        "pan up": np.array([0.0, v]),
        "pan down": np.array([0.0, -v]),
    }.get(m, np.zeros(2))


def _log_growth(track: ObjectTrack) -> float:
    first, last = _ends(track.arrays()[3])
    return float(np.log(max(last, 1.0) / max(first, 1.0)))


def camera_ok(
    scene: Scene, tracked: dict[int, ObjectTrack], fps: int, width: int, height: int
) -> float | None:
    """1 when the objects drift the way the camera's pan or zoom makes them; None without a camera move.

    `tracked` maps object index to its track. A zoom is what is left of each object's growth
    once its own growing or shrinking is taken out.
    """
    m = scene.camera.motion
    if m == "static" or not tracked:
        return None
    if m.startswith("pan"):
        drift = np.mean([glide(tr, fps, width, height)[0] for tr in tracked.values()], axis=0)
        want = _camera_velocity(scene)
        return float(np.dot(drift, want) / np.dot(want, want) >= 0.5)
    zooms = []
    for i, tr in tracked.items():
        secs = tr.arrays()[0] / fps
        if len(secs) >= 2:
            scale = world_path(scene.objects[i], scene, secs, height, width)[2]
            zooms.append(_log_growth(tr) - 2 * np.log(scale[-1] / scale[0]))
    if not zooms:
        return 0.0
    grows = float(np.median(zooms))
    return float(grows > 0.15 if m == "zoom in" else grows < -0.15)
