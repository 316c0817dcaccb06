"""Reading uploads back to frames, and probing what a file holds."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from zoetrope.media import encode_mp4, probe, read_frames


def pil_bytes(pixels: np.ndarray, format: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=format, **options)
    return buffer.getvalue()


@pytest.mark.parametrize("format", ["JPEG", "WEBP"])
def test_jpeg_and_webp_read_as_one_close_frame(format: str, smooth_frames, psnr) -> None:
    still = smooth_frames(count=1)[0]
    media = read_frames(pil_bytes(still, format, quality=95))
    assert media.kind == "image" and media.fps is None and media.duration is None
    assert media.frames.shape == (1, 48, 64, 3) and media.frames.dtype == np.uint8
    assert psnr(media.frames[0], still) > 30


def test_reads_from_a_path_or_bytes_alike(tmp_path: Path, smooth_frames) -> None:
    data = encode_mp4(smooth_frames(count=3))
    (tmp_path / "clip.mp4").write_bytes(data)
    from_path, from_bytes = read_frames(tmp_path / "clip.mp4"), read_frames(data)
    np.testing.assert_array_equal(from_path.frames, from_bytes.frames)
    assert from_path.fps == from_bytes.fps == 8


def test_transparent_png_is_composited_on_black() -> None:
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:2, ..., 3] = 255  # top half opaque red, bottom half fully transparent
    frame = read_frames(pil_bytes(rgba, "PNG")).frames[0]
    assert (frame[:2, :, 0] == 200).all() and (frame[2:] == 0).all()


def test_jpeg_exif_rotation_is_applied() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    data = pil_bytes(np.zeros((10, 30, 3), np.uint8), "JPEG", exif=exif)
    assert read_frames(data).frames.shape == (1, 30, 10, 3)


def test_probe_describes_a_video(smooth_frames) -> None:
    info = probe(encode_mp4(smooth_frames(count=10), fps=5))
    assert (info.kind, info.format, info.codec) == ("video", "mp4", "h264")
    assert (info.width, info.height, info.frames, info.fps) == (64, 48, 10, 5)
    assert info.duration == pytest.approx(2.0)


def test_probe_describes_an_image(tmp_path: Path) -> None:
    path = tmp_path / "still.webp"
    path.write_bytes(pil_bytes(np.zeros((20, 30, 3), np.uint8), "WEBP"))
    info = probe(path)
    assert (info.kind, info.format, info.width, info.height, info.frames) == ("image", "webp", 30, 20, 1)
    assert info.fps is None and info.duration is None


def test_a_16_bit_grey_png_is_scaled_to_8_bits_not_clipped() -> None:
    import io

    from PIL import Image

    ramp = np.repeat(np.linspace(0, 65535, 64).astype(np.uint16)[None, :], 8, 0)  # (8, 64), left black, right white
    buf = io.BytesIO()
    Image.fromarray(ramp).save(buf, "PNG")
    frame = read_frames(buf.getvalue()).frames[0]
    assert frame.shape == (8, 64, 3)
    assert frame[0, 0, 0] == 0 and frame[0, -1, 0] == 255 and 120 <= frame[0, 32, 0] <= 135
