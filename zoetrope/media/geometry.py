"""Changing frame size: `resize` to an exact size, `fit` into a size keeping the aspect ratio."""

from __future__ import annotations

from typing import Literal

import numpy as np
from PIL import Image

from zoetrope.media._arrays import video_frames

FitMode = Literal["letterbox", "crop"]


def resize(frames: np.ndarray, width: int, height: int) -> np.ndarray:
    """Return `frames` scaled to exactly width×height (the aspect ratio may change).

    Accepts one uint8 (H, W, 3) image or a (T, H, W, 3) stack and returns the same rank.
    """
    _check_size(width, height)
    stack = video_frames(frames, "frames")
    out = np.stack([_scale(frame, width, height) for frame in stack])  # (T, height, width, 3)
    return out if np.ndim(frames) == 4 else out[0]


def fit(
    frames: np.ndarray,
    width: int,
    height: int,
    *,
    mode: FitMode = "letterbox",
    fill: tuple[int, int, int] = (0, 0, 0),
) -> np.ndarray:
    """Return `frames` as exactly width×height without distorting them.

    `letterbox` scales the whole picture to fit inside and pads the rest with `fill`
    (bars top/bottom or left/right, centred); `crop` scales to cover the target and cuts
    the overflow equally from both sides. Same rank in and out, like `resize`.
    """
    _check_size(width, height)
    stack = video_frames(frames, "frames")
    _, src_h, src_w, _ = stack.shape
    if mode == "letterbox":
        scale = min(width / src_w, height / src_h)
    elif mode == "crop":
        scale = max(width / src_w, height / src_h)
    else:
        raise ValueError(f"mode must be 'letterbox' or 'crop', got {mode!r}")
    new_w, new_h = max(1, round(src_w * scale)), max(1, round(src_h * scale))
    # Rounding may overshoot by a pixel: letterbox must stay inside, crop must still cover.
    if mode == "letterbox":
        new_w, new_h = min(new_w, width), min(new_h, height)
    else:
        new_w, new_h = max(new_w, width), max(new_h, height)
    scaled = resize(stack, new_w, new_h)  # (T, new_h, new_w, 3)
    if mode == "crop":
        top, left = (new_h - height) // 2, (new_w - width) // 2
        out = scaled[:, top : top + height, left : left + width]
    else:
        out = np.empty((stack.shape[0], height, width, 3), dtype=np.uint8)
        out[...] = np.asarray(fill, dtype=np.uint8)
        top, left = (height - new_h) // 2, (width - new_w) // 2
        out[:, top : top + new_h, left : left + new_w] = scaled
    out = np.ascontiguousarray(out)
    return out if np.ndim(frames) == 4 else out[0]


def _scale(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    if frame.shape[1] == width and frame.shape[0] == height:
        return frame
    img = Image.fromarray(frame).resize((width, height), Image.Resampling.LANCZOS)
    return np.asarray(img)


def _check_size(width: int, height: int) -> None:
    if width < 1 or height < 1:
        raise ValueError(f"target size must be positive, got {width}x{height}")


def retime(
    frames: np.ndarray, fps: float | None, to_fps: float, times: np.ndarray | None = None
) -> np.ndarray:
    """`frames` (T, H, W, 3) shown at `fps`, resampled to `to_fps` by taking the frame on screen at
    each new frame's time, so the clip lasts as long as before: 60 frames at 30 fps become 16 at 8 fps.
    `times` (seconds from the first frame, rising; `Media.times`) says when each frame is shown where
    the rate varies (a phone's or a screen recording's clip): the length is still T / `fps` (`fps` is
    the average rate), but each new frame is the one on screen at its time.
    Unchanged when `fps` is None (a still) or already `to_fps` at a steady rate."""
    if fps is None:
        return frames
    steady = times is None or np.abs(times - np.arange(len(frames)) / fps).max() < 0.5 / fps
    if steady and abs(fps - to_fps) < 1e-3:
        return frames
    count = max(1, round(len(frames) * to_fps / fps))
    if steady:
        at = np.floor(np.arange(count) * fps / to_fps + 1e-9).astype(int)
    else:
        at = np.searchsorted(times, np.arange(count) / to_fps + 1e-9, side="right") - 1
    return frames[np.clip(at, 0, len(frames) - 1)]
