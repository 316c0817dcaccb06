"""Finding the objects in frames: backdrop estimate, foreground mask, connected blobs.

The world's backdrops are unsaturated and constant along each row; its objects are
saturated. So the backdrop of a row is the median of its unsaturated pixels, and the
foreground is whatever differs from it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CALM_CHROMA = 100.0  # max-min channel spread below which a pixel may be backdrop
FOREGROUND_DIFF = 35.0  # max channel difference from the backdrop that makes a pixel foreground
MIN_AREA_FRACTION = 0.0015  # smaller blobs are noise


@dataclass(frozen=True)
class Blob:
    """One connected foreground region in one frame."""

    t: int
    area: int
    x: float  # centroid, pixels
    y: float
    rgb: np.ndarray  # (3,) median color of its pixels
    xs: np.ndarray  # (area,) pixel columns
    ys: np.ndarray  # (area,) pixel rows
    edge: bool  # touches the frame border (may be cut off)


def _spread(f: np.ndarray) -> np.ndarray:
    """max - min over the channels; explicit, as numpy reduces a length-3 last axis slowly."""
    r, g, b = f[..., 0], f[..., 1], f[..., 2]
    return np.maximum(np.maximum(r, g), b) - np.minimum(np.minimum(r, g), b)


def _max_abs(d: np.ndarray) -> np.ndarray:
    return np.maximum(np.maximum(np.abs(d[..., 0]), np.abs(d[..., 1])), np.abs(d[..., 2]))


def _row_median(f: np.ndarray, use: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    count = use.sum(axis=2)  # (T, H)
    ordered = np.sort(np.where(use[..., None], f, np.inf), axis=2)  # used pixels first, per channel
    middle = np.maximum(count - 1, 0)[:, :, None, None] // 2
    median = np.take_along_axis(ordered, np.broadcast_to(middle, (*count.shape, 1, 3)), axis=2)[:, :, 0]
    return np.where(count[..., None] > 0, median, 0.0), count > 0


def _row_mean(f: np.ndarray, use: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    count = use.sum(axis=2)  # (T, H)
    total = np.einsum("thwc,thw->thc", f, use.astype(np.float32))  # (T, H, 3)
    return total / np.maximum(count, 1)[..., None], count > 0


def backdrop(frames: np.ndarray) -> np.ndarray:
    """The estimated backdrop of every row: (T, H, 3) float32."""
    f = frames.astype(np.float32)
    calm = _spread(f) < CALM_CHROMA  # (T, H, W)
    rows, valid = _row_median(f, calm)
    # The mean of the calm pixels near that first guess: steadier than a median of whole levels.
    near = calm & (_max_abs(f - rows[:, :, None, :]) < FOREGROUND_DIFF / 2)
    rows2, valid2 = _row_mean(f, near)
    rows = np.where(valid2[..., None], rows2, rows)
    for t in np.flatnonzero(~valid.all(axis=1)):  # rows without a calm pixel: nearest rows that have one
        if not valid[t].any():
            rows[t] = np.median(f[t].reshape(-1, 3), axis=0)
            continue
        idx = np.arange(rows.shape[1])
        for ch in range(3):
            rows[t, :, ch] = np.interp(idx, idx[valid[t]], rows[t, valid[t], ch])
    return rows


def foreground(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mask (T, H, W) bool, difference from the backdrop (T, H, W) float32)."""
    diff = _max_abs(frames.astype(np.float32) - backdrop(frames)[:, :, None, :])
    return diff > FOREGROUND_DIFF, diff


def label(mask: np.ndarray) -> np.ndarray:
    """4-connected components of every frame: int64 labels, 0 outside the mask, unique across frames."""
    big = np.iinfo(np.int64).max
    lab = np.where(mask, np.arange(1, mask.size + 1).reshape(mask.shape), big)
    while True:  # spread the smallest label through each region, one pixel per step in each direction
        new = lab.copy()
        np.minimum(new[:, 1:], lab[:, :-1], out=new[:, 1:])
        np.minimum(new[:, :-1], lab[:, 1:], out=new[:, :-1])
        np.minimum(new[:, :, 1:], lab[:, :, :-1], out=new[:, :, 1:])
        np.minimum(new[:, :, :-1], lab[:, :, 1:], out=new[:, :, :-1])
        new[~mask] = big
        if np.array_equal(new, lab):
            break
        lab = new
    lab[~mask] = 0
    return lab


def blobs(frames: np.ndarray) -> tuple[list[list[Blob]], np.ndarray]:
    """(the blobs of every frame, largest first; the foreground difference (T, H, W))."""
    mask, diff = foreground(frames)
    lab = label(mask)
    frames_n, height, width = mask.shape
    min_area = max(4, int(MIN_AREA_FRACTION * height * width))
    out: list[list[Blob]] = [[] for _ in range(frames_n)]
    t_all, y_all, x_all = np.nonzero(lab)
    ids = lab[t_all, y_all, x_all]
    order = np.argsort(ids, kind="stable")
    t_all, y_all, x_all, ids = t_all[order], y_all[order], x_all[order], ids[order]
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    for a, b in zip(starts, np.r_[starts[1:], len(ids)], strict=True):
        if b - a < min_area:
            continue
        t, ys, xs = int(t_all[a]), y_all[a:b], x_all[a:b]
        edge = bool(xs.min() == 0 or ys.min() == 0 or xs.max() == width - 1 or ys.max() == height - 1)
        rgb = np.median(frames[t, ys, xs].astype(np.float32), axis=0)
        out[t].append(Blob(t, b - a, float(xs.mean()), float(ys.mean()), rgb, xs, ys, edge))
    for frame_blobs in out:
        frame_blobs.sort(key=lambda bl: -bl.area)
    return out, diff
