"""Blending a small RGBA picture or text label onto frames, still or moving."""

from __future__ import annotations

import numpy as np
import pytest

from zoetrope.media import overlay, render_text


def red_patch(alpha: int) -> np.ndarray:
    patch = np.zeros((4, 6, 4), np.uint8)
    patch[..., 0], patch[..., 3] = 255, alpha
    return patch


def test_opaque_patch_replaces_pixels_at_the_position_only() -> None:
    frames = np.zeros((2, 10, 12, 3), np.uint8)
    out = overlay(frames, red_patch(255), (3, 2))
    assert (out[:, 2:6, 3:9, 0] == 255).all()
    assert out[:, :, :, 0].sum() == 2 * 4 * 6 * 255
    assert (frames == 0).all()  # the input is not modified


def test_alpha_and_opacity_blend() -> None:
    frames = np.full((1, 8, 8, 3), 100, np.uint8)
    out = overlay(frames, red_patch(128), (0, 0), opacity=0.5)
    a = 128 / 255 * 0.5
    assert out[0, 0, 0, 0] == round(100 * (1 - a) + 255 * a)
    assert out[0, 0, 0, 1] == round(100 * (1 - a))


def test_moving_position_per_frame_and_clipping_at_the_edges() -> None:
    frames = np.zeros((3, 10, 10, 3), np.uint8)
    out = overlay(frames, red_patch(255), [(-3, -2), (7, 8), (20, 20)])
    assert out[0, :, :, 0].sum() == 2 * 3 * 255  # only the bottom-right 2x3 is inside
    assert out[1, :, :, 0].sum() == 2 * 3 * 255  # only the top-left 2x3 is inside
    assert out[2].sum() == 0  # entirely outside


def test_one_image_in_one_image_out() -> None:
    assert overlay(np.zeros((5, 5, 3), np.uint8), red_patch(255), (0, 0)).shape == (5, 5, 3)


def test_wrong_number_of_positions_is_rejected() -> None:
    with pytest.raises(ValueError, match="2 positions for 3 frames"):
        overlay(np.zeros((3, 5, 5, 3), np.uint8), red_patch(255), [(0, 0), (1, 1)])


def test_rendered_text_is_a_visible_rgba_label() -> None:
    label = render_text("zoetrope", size=20)
    assert label.dtype == np.uint8 and label.shape[2] == 4
    assert label.shape[1] > label.shape[0] > 5  # wider than tall
    assert (label[..., 3] == 255).any() and (label[..., 3] == 0).any()
    out = overlay(np.zeros((1, 40, 120, 3), np.uint8), label, (5, 5))
    assert out.max() == 255
