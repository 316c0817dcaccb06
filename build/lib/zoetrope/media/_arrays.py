"""Checks that turn caller arrays into the one frame layout the media layer works on."""

from __future__ import annotations

import numpy as np

from zoetrope.errors import InvalidMedia


def video_frames(frames: object, param: str | None = None) -> np.ndarray:
    """Return `frames` as a uint8 array (T, H, W, 3); a single (H, W, 3) image becomes T=1.

    Raises InvalidMedia when the array is empty or not RGB uint8.
    """
    array = np.asarray(frames)
    if array.ndim == 3:
        array = array[None]
    _check(array, param)
    return array


def image(frame: object, param: str | None = None) -> np.ndarray:
    """Return `frame` as a uint8 array (H, W, 3); a (1, H, W, 3) stack is accepted too."""
    array = np.asarray(frame)
    if array.ndim == 4 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 3:
        raise InvalidMedia(f"an image must be a uint8 array (H, W, 3), got shape {array.shape}", param=param)
    _check(array[None], param)
    return array


def _check(array: np.ndarray, param: str | None) -> None:
    if array.ndim != 4 or array.shape[-1] != 3:
        raise InvalidMedia(f"frames must be a uint8 array (T, H, W, 3), got shape {array.shape}", param=param)
    if array.dtype != np.uint8:
        raise InvalidMedia(f"frames must be uint8, got {array.dtype}", param=param)
    if 0 in array.shape:
        raise InvalidMedia(f"frames are empty (shape {array.shape})", param=param)


def pad_to_even(frames: np.ndarray) -> np.ndarray:
    """Return (T, H', W', 3) with H' and W' even, repeating the last row/column where odd.

    H.264 in yuv420p stores colour at half resolution, so both sides must be even.
    """
    _, height, width, _ = frames.shape
    pad_h, pad_w = height % 2, width % 2
    if not (pad_h or pad_w):
        return frames
    return np.pad(frames, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")
