"""Previews of a video: a thumbnail image and a spritesheet (a grid of sampled frames)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from zoetrope.media._arrays import video_frames
from zoetrope.media.encode import encode_image
from zoetrope.media.geometry import resize

PreviewFormat = Literal["jpeg", "webp", "png"]


def thumbnail(
    frames: np.ndarray,
    *,
    index: int = 0,
    max_side: int = 512,
    format: PreviewFormat = "jpeg",
    quality: int = 85,
) -> bytes:
    """Return frame `index` of `frames` ((T, H, W, 3) or one (H, W, 3) image) as JPEG/WebP/PNG bytes,
    scaled down (never up) so that its longer side is at most `max_side`, aspect kept."""
    stack = video_frames(frames, "frames")
    if not -len(stack) <= index < len(stack):
        raise IndexError(f"frame index {index} out of range for {len(stack)} frames")
    frame = stack[index]
    height, width, _ = frame.shape
    scale = min(1.0, max_side / max(width, height))
    if scale < 1.0:
        frame = resize(frame, max(1, round(width * scale)), max(1, round(height * scale)))
    return encode_image(frame, format, quality=quality)


@dataclass(frozen=True)
class SpriteLayout:
    """Where each sampled frame sits in a spritesheet: tile k shows frame `frame_indices[k]`
    at row k // columns, column k % columns; tiles are tile_width×tile_height pixels."""

    columns: int
    rows: int
    tile_width: int
    tile_height: int
    frame_indices: tuple[int, ...]

    def position(self, tile: int) -> tuple[int, int]:
        """Return the (x, y) pixel offset of the top-left corner of tile number `tile`."""
        row, column = divmod(tile, self.columns)
        return column * self.tile_width, row * self.tile_height


@dataclass(frozen=True, eq=False)
class Spritesheet:
    """A grid of frames: `image` is uint8 (rows·tile_height, columns·tile_width, 3); unused
    tiles at the end are black."""

    image: np.ndarray
    layout: SpriteLayout

    def encode(self, format: PreviewFormat = "jpeg", *, quality: int = 85) -> bytes:
        """Return the sheet as JPEG, WebP or PNG bytes."""
        return encode_image(self.image, format, quality=quality)


def spritesheet(
    frames: np.ndarray, *, max_tiles: int = 25, columns: int | None = None, tile_width: int = 160
) -> Spritesheet:
    """Return a Spritesheet of up to `max_tiles` frames sampled evenly from first to last.

    Tiles are `tile_width` wide with the frames' aspect ratio; `columns` defaults to a near
    square grid.
    """
    stack = video_frames(frames, "frames")
    if max_tiles < 1 or tile_width < 1 or (columns is not None and columns < 1):
        raise ValueError("max_tiles, tile_width and columns must be positive")
    count, height, width, _ = stack.shape
    n = min(count, max_tiles)
    indices = tuple(int(i) for i in np.linspace(0, count - 1, n).round())
    cols = min(columns or math.ceil(math.sqrt(n)), n)
    layout = SpriteLayout(
        columns=cols,
        rows=math.ceil(n / cols),
        tile_width=tile_width,
        tile_height=max(1, round(tile_width * height / width)),
        frame_indices=indices,
    )
    tiles = resize(stack[list(indices)], layout.tile_width, layout.tile_height)  # (n, th, tw, 3)
    sheet = np.zeros((layout.rows * layout.tile_height, layout.columns * layout.tile_width, 3), np.uint8)
    for k, tile in enumerate(tiles):
        x, y = layout.position(k)
        sheet[y : y + layout.tile_height, x : x + layout.tile_width] = tile
    return Spritesheet(image=sheet, layout=layout)
