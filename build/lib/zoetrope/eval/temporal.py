"""Temporal quality from frames alone: flicker, object stability, continuity at seams.

Scores are in 0..1 on the renderer's scale: the world's own clips score about 1, and the
tolerances below are what its anti-aliasing and smooth camera moves produce.
"""

from __future__ import annotations

import numpy as np

from zoetrope.eval.segment import backdrop

FLICKER_TOLERANCE = 0.6  # mean |second difference| of backdrop pixels the renderer itself shows
FLICKER_SPAN = 3.0
EDGE_STEP = 12.0  # brightness change per row above which a backdrop row is a sharp edge
AREA_TOLERANCE, AREA_SPAN = 0.06, 0.15  # coefficient of variation of an object's area
COLOR_TOLERANCE, COLOR_SPAN = 8.0, 25.0  # std of an object's color, 0..255
SEAM_SPAN = 1.0


def _decay(value: float, tolerance: float, span: float) -> float:
    return float(np.exp(-max(0.0, value - tolerance) / span))


def flicker(frames: np.ndarray, foreground: np.ndarray) -> float | None:
    """How steady the backdrop is: 1 when every backdrop pixel changes smoothly, lower as it jumps.

    A smooth camera move changes pixels at a steady rate, so the measure is the second
    difference in time, f[t-1] - 2 f[t] + f[t+1], over pixels that are backdrop in all three
    frames and away from sharp backdrop edges (a horizon that moves jumps from row to row).
    None for clips shorter than three frames.
    """
    if len(frames) < 3:
        return None
    f = frames.astype(np.float32).mean(-1)  # (T, H, W) brightness
    rows = backdrop(frames).mean(-1)  # (T, H)
    edge = np.zeros(rows.shape, bool)
    edge[:, 1:-1] = np.abs(rows[:, 2:] - rows[:, :-2]) / 2 > EDGE_STEP
    edge[:, 1:] |= edge[:, :-1].copy()
    edge[:, :-1] |= edge[:, 1:].copy()
    fg = foreground | edge[:, :, None]
    fg[:, 1:] |= foreground[:, :-1]  # a pixel of margin around objects
    fg[:, :-1] |= foreground[:, 1:]
    fg[:, :, 1:] |= fg[:, :, :-1]
    fg[:, :, :-1] |= fg[:, :, 1:]
    calm = ~(fg[:-2] | fg[1:-1] | fg[2:])  # (T-2, H, W)
    if not calm.any():
        return None
    second = np.abs(f[:-2] - 2 * f[1:-1] + f[2:])
    return _decay(float(second[calm].mean()), FLICKER_TOLERANCE, FLICKER_SPAN)


def stability(areas: np.ndarray, colors: np.ndarray) -> float | None:
    """How steady one object's size and color stay (1 = steady): areas (n,), colors (n, 3)."""
    if len(areas) < 3:
        return None
    cv = float(areas.std() / max(areas.mean(), 1e-6))
    color_std = float(colors.std(axis=0).mean())
    return _decay(cv, AREA_TOLERANCE, AREA_SPAN) * _decay(color_std, COLOR_TOLERANCE, COLOR_SPAN)


def frame_differences(frames: np.ndarray) -> np.ndarray:
    """Mean absolute change between consecutive frames: (T-1,)."""
    f = frames.astype(np.float32)
    return np.abs(f[1:] - f[:-1]).mean(axis=(1, 2, 3))


def seam_continuity(frames: np.ndarray, index: int) -> float:
    """How invisible the cut before frame `index` is: 1 when the change from frame index-1 to
    index is no larger than the clip's median change between frames, lower as it jumps out."""
    if not 0 < index < len(frames):
        raise ValueError(f"seam index must be in 1..{len(frames) - 1}, not {index}")
    diffs = frame_differences(frames)
    typical = max(float(np.median(diffs)), 0.25)  # a quarter level: in a still clip not every change is a cut
    return _decay(float(diffs[index - 1]) / typical, 1.5, SEAM_SPAN)


def loop_continuity(frames: np.ndarray) -> float:
    """seam_continuity of the clip played in a loop, at the point where it starts again."""
    return seam_continuity(np.concatenate([frames, frames[:1]]), len(frames))
