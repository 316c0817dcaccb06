"""Where every object is at every frame: motion laws in seconds, then the camera, in pixels."""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

import numpy as np

from zoetrope.world.scene import Background, Camera, Scene, WorldObject
from zoetrope.world.vocab import (
    CAMERA_PAN_SPEED,
    CAMERA_ZOOM_RATE,
    COLOR_CHANGE_SECONDS,
    COLORS,
    FADE_SECONDS,
    GRAVITY,
    GROW_RATE,
    LINEAR_MOTIONS,
    ORBIT_RADIUS,
    ORBIT_RATES,
    RESTITUTION,
    SIZES,
    SPEEDS,
    SPIN_RATES,
)

FLOOR = 0.92  # where bouncing objects land without a sky backdrop, fraction of the height
MAX_SCALE = 2.5


@dataclass(frozen=True)
class Track:
    """One object over the clip, on screen. Every array has T rows."""

    x: np.ndarray  # (T,) centre, pixels from the left
    y: np.ndarray  # (T,) centre, pixels from the top
    radius: np.ndarray  # (T,) half the drawn diameter, pixels
    angle: np.ndarray  # (T,) radians
    alpha: np.ndarray  # (T,) opacity 0..1
    rgb: np.ndarray  # (T, 3) 0..255


def clip_times(frames: int, fps: int) -> np.ndarray:
    """The time of every frame, in seconds."""
    return np.arange(frames, dtype=np.float64) / fps


def camera_view(camera: Camera, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(offset x, offset y, zoom) of the camera at times t: world = (screen - 0.5) / zoom + 0.5 + offset."""
    m, zero = camera.motion, np.zeros_like(t)
    pan = CAMERA_PAN_SPEED * t
    ox = -pan if m == "pan left" else pan if m == "pan right" else zero
    oy = -pan if m == "pan up" else pan if m == "pan down" else zero
    rate = CAMERA_ZOOM_RATE if m == "zoom in" else -CAMERA_ZOOM_RATE if m == "zoom out" else 0.0
    return ox, oy, np.exp(rate * t)


def _smoothstep(t: np.ndarray, start: float, end: float) -> np.ndarray:
    s = np.clip((t - start) / (end - start), 0.0, 1.0)
    return s * s * (3 - 2 * s)


def _bounce(y0: float, floor: float, t: np.ndarray) -> np.ndarray:
    """Height of a ball dropped from y0 onto floor under gravity, losing energy at each bounce."""
    drop = max(floor - y0, 1e-6)
    t0 = np.sqrt(2 * drop / GRAVITY)
    y = np.where(t < t0, y0 + 0.5 * GRAVITY * t**2, floor)
    rest, v = t - t0, GRAVITY * t0 * RESTITUTION
    for _ in range(40):
        period = 2 * v / GRAVITY
        if period < 1e-3:
            break
        air = (rest >= 0) & (rest < period)
        y = np.where(air, floor - (v * rest - 0.5 * GRAVITY * rest**2), y)
        rest, v = rest - period, v * RESTITUTION
    return y


def _hsv(rgb: tuple[int, int, int]) -> tuple[float, float, float]:
    return colorsys.rgb_to_hsv(*(c / 255.0 for c in rgb))


def _hue_blend(a: tuple[int, int, int], b: tuple[int, int, int], mix: np.ndarray) -> np.ndarray:
    """(T, 3) colors going from a to b round the hue circle (the short way), staying saturated."""
    (ha, sa, va), (hb, sb, vb) = _hsv(a), _hsv(b)
    dh = (hb - ha + 0.5) % 1.0 - 0.5
    hsv = [((ha + dh * m) % 1.0, sa + (sb - sa) * m, va + (vb - va) * m) for m in mix.tolist()]
    return np.array([colorsys.hsv_to_rgb(*c) for c in hsv]) * 255.0


def floor_height(background: Background) -> float:
    """Where bouncing objects land: the horizon of a sky, else near the bottom edge."""
    return background.horizon if background.kind == "sky" else FLOOR


def world_path(obj: WorldObject, scene: Scene, t: np.ndarray, height: int, width: int):
    """(x, y, scale) in frame fractions before the camera: the motion law of `obj` at times t."""
    short = min(height, width)
    x, y, scale = np.full_like(t, obj.x), np.full_like(t, obj.y), np.ones_like(t)
    m = obj.motion
    if m in LINEAR_MOTIONS:
        dx, dy = LINEAR_MOTIONS[m]
        x, y = obj.x + dx * SPEEDS[obj.speed] * t, obj.y + dy * SPEEDS[obj.speed] * t
    elif m == "orbit":
        a = obj.phase + ORBIT_RATES[obj.speed] * t
        x = obj.x + ORBIT_RADIUS * np.cos(a) * short / width
        y = obj.y + ORBIT_RADIUS * np.sin(a) * short / height
    elif m == "bounce":
        r = SIZES[obj.size] / 2 * short / height
        y = _bounce(obj.y, floor_height(scene.background) - r, t)
    elif m == "grow":
        scale = np.minimum(0.6 * np.exp(GROW_RATE * t), MAX_SCALE)
    elif m == "shrink":
        scale = 1.4 * np.exp(-GROW_RATE * t)
    return x, y, scale


def object_track(obj: WorldObject, scene: Scene, t: np.ndarray, height: int, width: int) -> Track:
    """The on-screen track of `obj` at times t, the camera applied."""
    x, y, scale = world_path(obj, scene, t, height, width)
    ox, oy, zoom = camera_view(scene.camera, t)
    sx = ((x - 0.5 - ox) * zoom + 0.5) * width
    sy = ((y - 0.5 - oy) * zoom + 0.5) * height
    radius = SIZES[obj.size] / 2 * min(height, width) * scale * zoom
    spin = SPIN_RATES[obj.speed] * t if obj.motion == "spin" else 0.0
    angle = obj.angle + spin + np.zeros_like(t)
    alpha = np.ones_like(t)
    if obj.motion == "fade in":
        alpha = _smoothstep(t, *FADE_SECONDS)
    elif obj.motion == "fade out":
        alpha = 1.0 - _smoothstep(t, *FADE_SECONDS)
    rgb = np.tile(np.asarray(COLORS[obj.color], np.float64), (len(t), 1))
    if obj.motion == "color change" and obj.color_to:
        rgb = _hue_blend(COLORS[obj.color], COLORS[obj.color_to], _smoothstep(t, *COLOR_CHANGE_SECONDS))
    return Track(sx, sy, radius, angle, alpha, rgb)


def scene_tracks(scene: Scene, frames: int, height: int, width: int, fps: int = 8) -> list[Track]:
    """The on-screen track of every object of `scene`, in drawing order."""
    t = clip_times(frames, fps)
    return [object_track(o, scene, t, height, width) for o in scene.objects]
