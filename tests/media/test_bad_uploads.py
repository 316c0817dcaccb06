"""Every kind of bad upload is an InvalidMedia naming the problem and the field; never a crash."""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from zoetrope.errors import InvalidMedia
from zoetrope.media import encode_mp4, encode_png, probe, read_frames

READERS = [read_frames, probe]


def rejects(source: object, match: str, reader: Callable[..., object]) -> InvalidMedia:
    with pytest.raises(InvalidMedia, match=match) as info:
        reader(source, param="input_reference")
    assert info.value.param == "input_reference"
    assert info.value.code == "invalid_media" and info.value.status == 400
    return info.value


@pytest.fixture(scope="module")
def mp4() -> bytes:
    frames = np.full((6, 32, 32, 3), 90, np.uint8)
    frames[:, 8:24, 8:24] = np.arange(6, dtype=np.uint8)[:, None, None, None] * 40
    return encode_mp4(frames)


@pytest.mark.parametrize("reader", READERS)
def test_empty_upload(reader, tmp_path: Path) -> None:
    rejects(b"", "is empty", reader)
    (tmp_path / "empty.mp4").touch()
    rejects(tmp_path / "empty.mp4", "empty.mp4 is empty", reader)


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9])
def test_truncated_mp4(reader, keep: float, mp4: bytes) -> None:
    rejects(mp4[: int(len(mp4) * keep)], "truncated|corrupt", reader)


@pytest.mark.parametrize("reader", READERS)
def test_mp4_header_with_garbage_after_it(reader, mp4: bytes) -> None:
    garbage = mp4[:32] + np.random.default_rng(1).bytes(4000)
    rejects(garbage, "corrupt", reader)


@pytest.mark.parametrize("reader", READERS)
def test_random_bytes(reader) -> None:
    # Bytes sent as a field are named by the field, as the client knows them.
    rejects(np.random.default_rng(2).bytes(5000), "^input_reference is not a supported media file", reader)


@pytest.mark.parametrize("reader", READERS)
def test_text_file_even_when_named_like_a_video(reader, tmp_path: Path) -> None:
    path = tmp_path / "notes.mp4"
    path.write_text("just some words, not a video\n")
    rejects(path, "notes.mp4 is not a supported media file", reader)


@pytest.mark.parametrize("reader", READERS)
def test_truncated_png(reader) -> None:
    data = encode_png(np.random.default_rng(3).integers(0, 256, (64, 64, 3), dtype=np.uint8))
    rejects(data[: len(data) // 2], "not a readable PNG image", reader)


@pytest.mark.parametrize("reader", READERS)
def test_a_png_header_with_nothing_after_it_names_no_server_internals(reader) -> None:
    with pytest.raises(InvalidMedia) as caught:
        reader(b"\x89PNG\r\n\x1a\n" + bytes(64))
    assert "not a readable PNG image" in caught.value.message
    assert "<_io" not in caught.value.message and "0x" not in caught.value.message


@pytest.mark.parametrize("reader", READERS)
def test_missing_file(reader, tmp_path: Path) -> None:
    rejects(tmp_path / "nowhere.png", "no such media file", reader)


@pytest.mark.parametrize("reader", READERS)
def test_too_many_pixels(reader, limits, mp4: bytes) -> None:
    limits(max_pixels=1000)
    rejects(
        encode_png(np.zeros((40, 30, 3), np.uint8)), "30x40 = 1200 pixels, over the limit of 1000", reader
    )
    rejects(mp4, "32x32 = 1024 pixels, over the limit of 1000", reader)


@pytest.mark.parametrize("reader", READERS)
def test_too_many_frames(reader, limits, mp4: bytes) -> None:
    limits(max_frames=5)
    rejects(mp4, "6 frames, over the limit of 5", reader)


@pytest.mark.parametrize("reader", READERS)
def test_too_many_bytes(reader, limits, mp4: bytes, tmp_path: Path) -> None:
    limits(max_upload_bytes=100)
    rejects(mp4, f"{len(mp4)} bytes, over the upload limit of 100 bytes", reader)
    (tmp_path / "big.mp4").write_bytes(mp4)
    rejects(tmp_path / "big.mp4", "big.mp4 is", reader)


def test_pillow_decompression_bomb_is_a_pixel_error(limits) -> None:
    buffer = io.BytesIO()
    Image.new("L", (1, 1)).save(buffer, format="PNG")
    data = bytearray(buffer.getvalue())
    data[16:24] = (60000).to_bytes(4, "big") * 2  # IHDR claims 60000x60000 (3.6 gigapixels)
    data[29:33] = zlib.crc32(data[12:29]).to_bytes(4, "big")
    limits(max_pixels=10**12)
    rejects(bytes(data), "pixels", read_frames)


def test_without_param_the_error_names_no_field() -> None:
    with pytest.raises(InvalidMedia) as info:
        read_frames(b"")
    assert info.value.param is None
