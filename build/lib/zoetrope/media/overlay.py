"""Alpha-blending a small RGBA picture (a logo, a rendered label) onto frames at a position."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from zoetrope.media._arrays import video_frames

Position = tuple[int, int]


def render_text(
    text: str,
    *,
    size: int = 16,
    color: tuple[int, int, int] = (255, 255, 255),
    outline: tuple[int, int, int] | None = (0, 0, 0),
) -> np.ndarray:
    """Return `text` drawn on a transparent background as uint8 RGBA (h, w, 4), cropped tight.

    The thin `outline` keeps the label readable on light and dark frames; None draws none.
    """
    font = ImageFont.load_default(size=size)
    stroke = max(1, size // 12) if outline is not None else 0
    left, top, right, bottom = font.getbbox(text, stroke_width=stroke)
    img = Image.new("RGBA", (max(1, right - left), max(1, bottom - top)), (0, 0, 0, 0))
    ImageDraw.Draw(img).text(
        (-left, -top), text, font=font, fill=(*color, 255), stroke_width=stroke, stroke_fill=outline
    )
    return np.asarray(img).copy()


def overlay(
    frames: np.ndarray,
    picture: np.ndarray,
    position: Position | Sequence[Position],
    *,
    opacity: float = 1.0,
) -> np.ndarray:
    """Return a copy of `frames` with the RGBA `picture` (h, w, 4) blended in at `position`.

    `position` is the (x, y) of the picture's top-left corner: one for every frame, or a
    sequence with one per frame (a moving watermark). Parts outside the frame are clipped.
    `opacity` (0..1) scales the picture's own alpha. Same rank in and out ((H, W, 3) or
    (T, H, W, 3)); an RGB picture counts as fully opaque.
    """
    stack = video_frames(frames, "frames")
    rgba = np.asarray(picture)
    if rgba.dtype != np.uint8 or rgba.ndim != 3 or rgba.shape[2] not in (3, 4):
        raise ValueError(f"picture must be uint8 (h, w, 4) RGBA, got {rgba.dtype} {rgba.shape}")
    if not 0.0 <= opacity <= 1.0:
        raise ValueError(f"opacity must be in 0..1, got {opacity}")
    positions = _positions(position, len(stack))
    colour = rgba[..., :3].astype(np.float32)  # (h, w, 3)
    alpha = (
        rgba[..., 3:].astype(np.float32) / 255.0 * opacity
        if rgba.shape[2] == 4
        else np.full((*rgba.shape[:2], 1), opacity, np.float32)
    )  # (h, w, 1)
    out = stack.copy()
    for t, (x, y) in enumerate(positions):
        _blend(out[t], colour, alpha, x, y)
    return out if np.ndim(frames) == 4 else out[0]


def _positions(position: Position | Sequence[Position], count: int) -> list[Position]:
    if len(position) == 2 and all(isinstance(v, int | np.integer) for v in position):
        return [(int(position[0]), int(position[1]))] * count  # type: ignore[arg-type]
    per_frame = [(int(x), int(y)) for x, y in position]  # type: ignore[misc]
    if len(per_frame) != count:
        raise ValueError(f"got {len(per_frame)} positions for {count} frames")
    return per_frame


def _blend(frame: np.ndarray, colour: np.ndarray, alpha: np.ndarray, x: int, y: int) -> None:
    """Blend in place the part of the picture that lands inside `frame` (H, W, 3)."""
    height, width, _ = frame.shape
    h, w, _ = colour.shape
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, width), min(y + h, height)
    if x0 >= x1 or y0 >= y1:
        return
    src = (slice(y0 - y, y1 - y), slice(x0 - x, x1 - x))
    region = frame[y0:y1, x0:x1].astype(np.float32)
    a = alpha[src]
    frame[y0:y1, x0:x1] = np.rint(region * (1.0 - a) + colour[src] * a).astype(np.uint8)
