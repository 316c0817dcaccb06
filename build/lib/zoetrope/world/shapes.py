"""Signed distance functions of the world's shapes, for anti-aliased drawing.

Each takes coordinates in units of the object's radius (u to the right, v downwards) and
returns the signed distance to the outline in the same units: negative inside. Shapes
stand upright: triangle and star point up, the heart's lobes are on top.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

EXTENT = 1.2  # no shape reaches further than this from its centre, in radii


def _length(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return np.sqrt(x * x + y * y)


def _box(u: np.ndarray, v: np.ndarray, hx: float, hy: float) -> np.ndarray:
    qx, qy = np.abs(u) - hx, np.abs(v) - hy
    return _length(np.maximum(qx, 0), np.maximum(qy, 0)) + np.minimum(np.maximum(qx, qy), 0)


def circle(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return _length(u, v) - 1.0


def square(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return _box(u, v, 0.82, 0.82)


def ring(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.abs(_length(u, v) - 0.78) - 0.24


def cross(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    return np.minimum(_box(u, v, 1.0, 0.32), _box(u, v, 0.32, 1.0))


def triangle(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    k, r = np.sqrt(3.0), 1.0  # equilateral, half side r, centroid at the origin
    x, y = np.abs(u) - r, -v + r / k
    fold = x + k * y > 0
    x, y = np.where(fold, (x - k * y) / 2, x), np.where(fold, (-k * x - y) / 2, y)
    x = x - np.clip(x, -2 * r, 0)
    return -_length(x, y) * np.sign(y)


def star(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    r, rf = 1.15, 0.47  # outer radius and the inner/outer ratio of a five-pointed star
    k1x, k1y = 0.809016994375, -0.587785252292
    x, y = np.abs(u), -v
    for kx in (k1x, -k1x):
        d = 2 * np.maximum(kx * x + k1y * y, 0)
        x, y = x - d * kx, y - d * k1y
    x, y = np.abs(x), y - r
    bax, bay = rf * -k1y, rf * k1x - 1.0
    h = np.clip((x * bax + y * bay) / (bax * bax + bay * bay), 0.0, r)
    return _length(x - bax * h, y - bay * h) * np.sign(y * bax - x * bay)


def heart(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    s = 1.75
    x, y = np.abs(u) / s, -v / s + 0.55
    lobe = _length(x - 0.25, y - 0.75) - np.sqrt(2.0) / 4
    m = 0.5 * np.maximum(x + y, 0)
    tip = np.sqrt(np.minimum(x * x + (y - 1) ** 2, (x - m) ** 2 + (y - m) ** 2)) * np.sign(x - y)
    return np.where(x + y > 1.0, lobe, tip) * s


SDF: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "circle": circle,
    "square": square,
    "triangle": triangle,
    "star": star,
    "ring": ring,
    "cross": cross,
    "heart": heart,
}
