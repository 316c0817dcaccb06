"""Thumbnails and spritesheets."""

from __future__ import annotations

import numpy as np
import pytest

from zoetrope.media import SpriteLayout, read_frames, spritesheet, thumbnail


def numbered_frames(count: int, height: int = 36, width: int = 64) -> np.ndarray:
    """Frame i is a flat grey of level 10*i, so a tile tells which frame it came from."""
    return np.repeat(
        (np.arange(count, dtype=np.uint8) * 10)[:, None, None, None], height * width * 3
    ).reshape(count, height, width, 3)


@pytest.mark.parametrize(("format", "magic"), [("jpeg", b"\xff\xd8\xff"), ("webp", b"RIFF")])
def test_thumbnail_is_an_image_scaled_down_with_aspect(format: str, magic: bytes, smooth_frames) -> None:
    data = thumbnail(smooth_frames(count=3, height=48, width=64), max_side=32, format=format)
    assert data.startswith(magic)
    assert read_frames(data).frames.shape == (1, 24, 32, 3)


def test_thumbnail_never_upscales_and_takes_the_chosen_frame() -> None:
    frames = numbered_frames(5)
    still = read_frames(thumbnail(frames, index=-1, max_side=1000, format="png")).frames[0]
    assert still.shape == (36, 64, 3) and (still == 40).all()


def test_spritesheet_samples_evenly_into_a_near_square_grid() -> None:
    sheet = spritesheet(numbered_frames(20), max_tiles=9, tile_width=32)
    assert sheet.layout == SpriteLayout(
        columns=3, rows=3, tile_width=32, tile_height=18, frame_indices=(0, 2, 5, 7, 10, 12, 14, 17, 19)
    )
    assert sheet.image.shape == (3 * 18, 3 * 32, 3)
    for tile, index in enumerate(sheet.layout.frame_indices):
        x, y = sheet.layout.position(tile)
        assert (sheet.image[y : y + 18, x : x + 32] == index * 10).all()


def test_spritesheet_with_fewer_frames_than_tiles_and_fixed_columns() -> None:
    sheet = spritesheet(numbered_frames(5), max_tiles=25, columns=4, tile_width=16)
    layout = sheet.layout
    assert (layout.columns, layout.rows, layout.frame_indices) == (4, 2, (0, 1, 2, 3, 4))
    assert layout.position(4) == (0, layout.tile_height)
    assert (sheet.image[layout.tile_height :, 16:] == 0).all()  # the unused tiles stay black
    assert sheet.encode("jpeg").startswith(b"\xff\xd8\xff")


def test_spritesheet_of_one_image() -> None:
    sheet = spritesheet(numbered_frames(1)[0], tile_width=8)
    assert (sheet.layout.columns, sheet.layout.rows, sheet.layout.frame_indices) == (1, 1, (0,))
