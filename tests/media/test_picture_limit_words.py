"""A picture too large for the decoder to open is refused as the pixel limit refuses any other: its
size, the limit, and what to send instead."""

from __future__ import annotations

import io
import zlib

import pytest
from PIL import Image

from zoetrope.errors import InvalidMedia
from zoetrope.media import read_frames


def test_a_picture_past_the_decoders_own_limit_says_its_size_the_limit_and_the_fix() -> None:
    buffer = io.BytesIO()
    Image.new("L", (1, 1)).save(buffer, format="PNG")
    data = bytearray(buffer.getvalue())
    data[16:24] = (100000).to_bytes(4, "big") * 2  # IHDR claims 100000x100000 (10 gigapixels)
    data[29:33] = zlib.crc32(data[12:29]).to_bytes(4, "big")
    with pytest.raises(InvalidMedia) as info:
        read_frames(bytes(data), param="input_reference")
    message = info.value.message
    assert "10,000,000,000 pixels" in message and f"over the limit of {4096 * 4096:,}" in message, message
    assert "send a smaller picture" in message and info.value.param == "input_reference"
