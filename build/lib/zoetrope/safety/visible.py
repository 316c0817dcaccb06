"""The visible moving watermark for plans without watermark-free downloads."""

from __future__ import annotations

import numpy as np

from zoetrope.media import overlay, render_text


def visible_watermark(frames: np.ndarray, text: str = "Zoetrope", *, opacity: float = 0.6) -> np.ndarray:
    """A copy of `frames` (uint8 (T, H, W, 3) or (H, W, 3)) with `text` drifting around the frame.

    The label moves along a slow bouncing path (one corner to the opposite in about 4 s at
    8 fps), so no single crop removes it from every frame; its size follows the frame's.
    """
    stack = frames if frames.ndim == 4 else frames[None]
    t, h, w = stack.shape[:3]
    label = render_text(text, size=max(8, min(h, w) // 8))
    span_x, span_y = max(0, w - label.shape[1]), max(0, h - label.shape[0])
    steps = np.arange(t) / 32.0  # fraction of a sweep per frame

    def bounce(phase: np.ndarray, span: int) -> np.ndarray:
        tri = 1 - np.abs(1 - 2 * (phase % 1.0))  # 0 -> 1 -> 0 triangle wave
        return (tri * span).round().astype(int)

    positions = list(
        zip(bounce(steps, span_x).tolist(), bounce(steps * 0.73 + 0.25, span_y).tolist(), strict=True)
    )
    out = overlay(stack, label, positions, opacity=opacity)
    return out if frames.ndim == 4 else out[0]
