"""Shapes from silhouettes: a rotation-invariant descriptor and a nearest-neighbour classifier.

The descriptor is the blob's outline as a radius per direction (a polar signature): the
magnitudes of its Fourier harmonics say how many corners or points it has, whatever its
rotation; how much of its disc it fills, and whether its centre is empty, tell a circle
from a square and a ring. The classifier is fitted on the world's own renders the first
time it is used (a second or so), so it needs no stored weights.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from zoetrope.eval.segment import foreground
from zoetrope.world import Background, Scene, WorldObject, render_batch
from zoetrope.world.vocab import BACKDROP_COLORS, COLORS, SHAPES, SIZES

BINS = 32
HARMONICS = 6
# The harmonic that each shape repeats, for measuring how far it has turned.
SYMMETRY = {"triangle": 3, "square": 4, "cross": 4, "star": 5, "heart": 1}


_SUB = np.array([[-0.25, -0.25], [-0.25, 0.25], [0.25, -0.25], [0.25, 0.25]])  # 4 points per pixel


def signature(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """The outline's distance from the centroid in BINS directions, in pixels: (BINS,)."""
    dx = ((xs - xs.mean())[:, None] + _SUB[:, 0]).ravel()
    dy = ((ys - ys.mean())[:, None] + _SUB[:, 1]).ravel()
    r = np.hypot(dx, dy) + 0.25
    bins = ((np.arctan2(dy, dx) + np.pi) / (2 * np.pi) * BINS).astype(int) % BINS
    sig = np.zeros(BINS)
    np.maximum.at(sig, bins, r)
    empty = sig == 0
    if empty.any() and not empty.all():  # tiny blobs leave some directions without a point
        idx = np.arange(BINS)
        sig[empty] = np.interp(idx[empty], idx[~empty], sig[~empty], period=BINS)
    return sig


def features(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Rotation- and scale-invariant descriptor of a silhouette given by its pixels: (HARMONICS + 3,)."""
    sig = signature(xs, ys)
    spectrum = np.abs(np.fft.rfft(sig))
    mean_r = max(float(sig.mean()), 1e-6)
    harmonics = spectrum[1 : HARMONICS + 1] / max(spectrum[0], 1e-6)
    fill = len(xs) / (np.pi * mean_r**2)
    r = np.hypot(xs - xs.mean(), ys - ys.mean())
    inner = 0.35 * mean_r
    centre = np.sum(r < inner) / max(np.pi * inner**2, 1.0)
    return np.r_[harmonics * 4, fill, min(centre, 1.5), sig.std() / mean_r]


def orientation(xs: np.ndarray, ys: np.ndarray, shape: str) -> float | None:
    """The silhouette's rotation in radians, modulo its symmetry, or None for round shapes."""
    k = SYMMETRY.get(shape)
    if k is None:
        return None
    coef = np.fft.rfft(signature(xs, ys))[k]
    return float(np.angle(coef) / k)


def _training_set(n_per_shape: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    feats, labels, sizes = [], [], []
    colors, backdrops = list(COLORS), list(BACKDROP_COLORS)
    for frame_size in (40, 56, 64, 80, 112):
        scenes = []
        for shape in SHAPES:
            for _ in range(n_per_shape // 5):
                obj = WorldObject(
                    shape,
                    str(rng.choice(colors)),
                    str(rng.choice(list(SIZES))),
                    "still",
                    x=float(rng.uniform(0.4, 0.6)),
                    y=float(rng.uniform(0.4, 0.6)),
                    angle=float(rng.uniform(0, 2 * np.pi)),
                )
                scenes.append(Scene(Background("solid", str(rng.choice(backdrops))), (obj,)))
        stills = render_batch(scenes, frames=1, height=frame_size, width=frame_size)[:, 0]
        masks = foreground(stills)[0]  # one object per still: no need to separate blobs
        for scene, mask in zip(scenes, masks, strict=True):
            ys, xs = np.nonzero(mask)
            if len(xs) >= 4:
                feats.append(features(xs, ys))
                labels.append(scene.objects[0].shape)
                sizes.append(frame_size)
    return np.asarray(feats), np.asarray(labels), np.asarray(sizes)


@lru_cache(maxsize=1)
def _classifier() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    feats, labels, _ = _training_set(n_per_shape=200, seed=1234)
    mean, std = feats.mean(0), feats.std(0) + 1e-6
    return (feats - mean) / std, labels, mean, std


def classify(xs: np.ndarray, ys: np.ndarray, k: int = 5) -> str:
    """The world shape this silhouette most looks like."""
    train, labels, mean, std = _classifier()
    q = (features(xs, ys) - mean) / std
    nearest = np.argsort(((train - q) ** 2).sum(1))[:k]
    names, counts = np.unique(labels[nearest], return_counts=True)
    return str(names[np.argmax(counts)])
