"""What the watermark's detector reads from frames: luma, averaged over time and brought to a
working size (`evidence`), and for the low design each frame less its blur, clipped (`low_reading`)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image

CHUNK = 8  # frames widened to int16 or float at a time: a whole HD clip at once would be gigabytes
_WORK = 96  # the detector reads a copy at most this many pixels on a side (the mark is coarser)
# What the low design is read from is clipped to this many of its own deviations (`_limited`): halved
# 64 px clips after CRF 28 were read in 177, 180, 182 and 183 of 200 at 0.6, 0.8, 1.0 and 1.2
# (152 unclipped); blanking what lies past the bar instead, or a softer limiter, read fewer.
_LIMIT = 1.0
_BLUR = 1 / 24  # of the frame's shorter side: the Gaussian whose blur the low design is read less
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def mean_luma(frames: np.ndarray) -> np.ndarray:
    """Time-averaged luma of uint8 frames (T, H, W, 3) or (H, W, 3): (H, W) float32."""
    stack = frames if frames.ndim == 4 else frames[None]
    total = np.zeros(stack.shape[1:3], np.float64)
    # A chunk at a time: luma is linear, so the luma of the mean is the mean of the lumas.
    for at in range(0, len(stack), CHUNK):
        total += (stack[at : at + CHUNK].astype(np.float32) @ _LUMA).sum(0)
    return (total / len(stack)).astype(np.float32)


def evidence(luma: np.ndarray) -> np.ndarray:
    """A luma (H, W) as the detector reads it: mean removed, at most _WORK pixels on a side."""
    h, w = luma.shape
    if max(h, w) > _WORK:  # the mark is far coarser than the working size
        size = (max(8, round(w * _WORK / max(h, w))), max(8, round(h * _WORK / max(h, w))))
        luma = np.asarray(Image.fromarray(luma).resize(size, Image.Resampling.BOX), np.float32)
    return luma.astype(np.float64) - luma.mean()


def _without_blur(picture: np.ndarray) -> np.ndarray:
    """`picture` (an `evidence`) less its Gaussian blur (sigma _BLUR of the shorter side, edges mirrored): what the
    low design is read from, once clipped (the watermark's `_readings`). The picture's gradients and edges leak into every bin of a spectrum
    taken over a window that does not tile; most of that leakage is in the blur."""
    h, w = picture.shape
    sigma = _BLUR * min(h, w)
    # einsum, not BLAS, as in the watermark's `_spectra`.
    rows = np.einsum("ij,jk->ik", _blur_matrix(h, sigma), picture)
    blur = np.einsum("ik,lk->il", rows, _blur_matrix(w, sigma))
    return picture - blur


def _limited(rest: np.ndarray) -> np.ndarray:
    """`rest` clipped to its median absolute deviation (as a normal deviation) either side of 0."""
    spread = _LIMIT * 1.4826 * float(np.median(np.abs(rest - np.median(rest))))
    return np.clip(rest, -spread, spread) if spread > 0 else rest


def low_reading(stack: np.ndarray) -> np.ndarray:
    """What the low design is read from in uint8 frames (T, H, W, 3): the average over frames of
    each frame's luma less its blur, clipped to its own spread (`_limited`), clipped again.

    Clipping takes what the picture's edges leave after the blur is subtracted (a moving object's
    outline, tens of levels in a few pixels, where the mark is a few levels everywhere) down to
    the mark's own size, so that it no longer swamps the bins; frame by frame, since a moving edge
    is sharp in each frame and only smeared in the average.
    """
    low: np.ndarray | float = 0.0
    for at in range(0, len(stack), CHUNK):
        for luma in stack[at : at + CHUNK].astype(np.float32) @ _LUMA:
            low = low + _limited(_without_blur(evidence(luma)))
    return _limited(np.asarray(low) / len(stack))


@lru_cache(maxsize=8)
def _blur_matrix(n: int, sigma: float) -> np.ndarray:
    """(n, n): a 1-D Gaussian blur of `sigma` pixels over n samples, the ends mirrored."""
    taps = np.arange(-int(3 * sigma + 1), int(3 * sigma + 1) + 1)
    kernel = np.exp(-0.5 * (taps / sigma) ** 2)
    pad = min(len(taps) // 2, n)
    columns = np.pad(np.eye(n), ((pad, pad), (0, 0)), mode="symmetric")  # (n + 2 pad, n)
    matrix = np.stack([np.convolve(c, kernel / kernel.sum(), mode="same") for c in columns.T], 1)
    return matrix[pad : pad + n]
