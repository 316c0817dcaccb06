"""Plain resize to an exact size, and fit by letterbox or crop keeping the aspect ratio."""

from __future__ import annotations

import numpy as np
import pytest

from zoetrope.media import fit, resize


def framed_square(size: int = 40) -> np.ndarray:
    """A white square on a blue border, so a distortion of its aspect would show."""
    image = np.zeros((size, size, 3), np.uint8)
    image[..., 2] = 255
    image[4:-4, 4:-4] = 255
    return image


def test_resize_gives_the_exact_size_and_keeps_rank(smooth_frames) -> None:
    frames = smooth_frames(count=3)
    assert resize(frames, 30, 10).shape == (3, 10, 30, 3)
    assert resize(frames[0], 30, 10).shape == (10, 30, 3)


def test_letterbox_adds_bars_and_keeps_the_square_square() -> None:
    out = fit(framed_square(), 80, 40, mode="letterbox", fill=(9, 9, 9))
    assert out.shape == (40, 80, 3)
    assert (out[:, :20] == 9).all() and (out[:, 60:] == 9).all()  # bars left and right
    assert (out[:, 20:60, 2] > 200).all()  # the picture, 40x40, in the middle


def test_letterbox_of_a_wide_video_into_a_vertical_frame() -> None:
    frames = np.full((2, 20, 80, 3), 200, np.uint8)
    out = fit(frames, 40, 60, mode="letterbox")
    assert out.shape == (2, 60, 40, 3)
    rows = np.flatnonzero(out[0, :, 20, 0] > 100)
    assert (rows.min(), rows.max() + 1) == (25, 35)  # 80x20 -> 40x10, centred


def test_crop_fills_the_frame_and_cuts_the_sides_equally() -> None:
    frames = np.zeros((1, 20, 80, 3), np.uint8)
    frames[:, :, 35:45] = 255  # a centred stripe, 10 of 80 columns
    out = fit(frames, 40, 40, mode="crop")
    assert out.shape == (1, 40, 40, 3)
    columns = np.flatnonzero(out[0, 20, :, 0] > 127)
    assert (columns.min(), columns.max() + 1) == (10, 30)  # 2x scale to 160 wide, the middle 40 kept


@pytest.mark.parametrize("mode", ["letterbox", "crop"])
def test_fit_to_the_same_aspect_is_a_plain_resize(mode: str, smooth_frames) -> None:
    frames = smooth_frames(count=2, height=48, width=64)
    np.testing.assert_array_equal(fit(frames, 32, 24, mode=mode), resize(frames, 32, 24))


def test_bad_sizes_and_modes_are_rejected() -> None:
    with pytest.raises(ValueError, match="positive"):
        resize(framed_square(), 0, 10)
    with pytest.raises(ValueError, match="mode"):
        fit(framed_square(), 10, 10, mode="stretch")  # type: ignore[arg-type]


def test_retime_keeps_the_length_and_shows_each_frame_for_its_time() -> None:
    from zoetrope.media import retime

    frames = np.arange(6, dtype=np.uint8)[:, None, None, None].repeat(2, 1).repeat(2, 2).repeat(3, 3)  # 6 frames, 4 fps
    slow = retime(frames, 4, 8)[:, 0, 0, 0]
    assert slow.tolist() == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5]  # every frame on screen for as long
    fast = np.arange(60, dtype=np.uint8)[:, None, None, None].repeat(3, 3)  # 2 s at 30 fps
    assert retime(fast, 30, 8)[:, 0, 0, 0].tolist() == [int(i * 3.75) for i in range(16)]
    assert retime(frames, 8, 8) is frames and retime(frames, None, 8) is frames
