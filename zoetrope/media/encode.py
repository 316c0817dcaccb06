"""Writing media: H.264 MP4 (browser-ready) and PNG, to a path atomically or to bytes."""

from __future__ import annotations

import io
import math
import os
import re
import secrets
import tempfile
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import numpy as np
from PIL import Image

from zoetrope.media._arrays import image, pad_to_even, video_frames
from zoetrope.media.decode import DEFAULT_FPS

DEFAULT_CRF = 18
"""x264 constant rate factor: 18 is visually lossless for most content; lower is larger."""

DEFAULT_PRESET = "medium"

# FFmpeg's AVColorSpace/AVColorPrimaries/AVColorTransferCharacteristic SMPTE170M, AVCOL_RANGE_MPEG.
_BT601, _LIMITED_RANGE = 6, 1

ImageFormat = Literal["png", "jpeg", "webp"]


def encode_mp4(
    frames: np.ndarray, *, fps: float = DEFAULT_FPS, crf: int = DEFAULT_CRF, preset: str = DEFAULT_PRESET
) -> bytes:
    """Return the bytes of an H.264 MP4 of `frames` (uint8 (T, H, W, 3)); see `write_mp4`."""
    # The faststart pass re-reads the finished file by name, so it cannot run on a memory buffer.
    with tempfile.TemporaryDirectory(prefix="zoetrope-mp4-") as tmp:
        path = Path(tmp) / "video.mp4"
        write_mp4(path, frames, fps=fps, crf=crf, preset=preset)
        return path.read_bytes()


def write_mp4(
    path: str | os.PathLike[str],
    frames: np.ndarray,
    *,
    fps: float = DEFAULT_FPS,
    crf: int = DEFAULT_CRF,
    preset: str = DEFAULT_PRESET,
) -> Path:
    """Write `frames` (uint8 (T, H, W, 3)) as an H.264 MP4 and return its path.

    The file is libx264 in yuv420p with the index (moov) before the data (faststart), so
    browsers start playing before the download ends. An odd width or height is padded by
    repeating the last row/column. `fps` may be any positive rate (23.976 included).
    The file appears complete or not at all: it is written under a temporary name in the
    same directory, then renamed. Raises InvalidMedia for frames that are not RGB uint8,
    and ValueError for an fps or crf out of range.
    """
    array = pad_to_even(video_frames(frames, "frames"))
    rate = _rate(fps)
    if not 0 <= crf <= 51:
        raise ValueError(f"crf must be in 0..51, got {crf}")
    return _atomic_write(Path(path), lambda tmp: _mux(tmp, array, rate, crf, preset))


def encode_png(frame: np.ndarray) -> bytes:
    """Return the lossless PNG bytes of one uint8 (H, W, 3) frame."""
    return encode_image(frame, "png")


def write_png(path: str | os.PathLike[str], frame: np.ndarray) -> Path:
    """Write one uint8 (H, W, 3) frame as a PNG (atomically, like `write_mp4`); return its path."""
    data = encode_png(frame)
    return _atomic_write(Path(path), lambda tmp: tmp.write_bytes(data))


def encode_image(frame: np.ndarray, format: ImageFormat = "png", *, quality: int = 85) -> bytes:
    """Return one uint8 (H, W, 3) frame encoded as PNG (lossless), JPEG or WebP (`quality` 1..100)."""
    pixels = image(frame, "frame")
    buffer = io.BytesIO()
    img = Image.fromarray(pixels)
    if format == "png":
        img.save(buffer, format="PNG")
    elif format == "jpeg":
        img.save(buffer, format="JPEG", quality=quality, optimize=True)
    elif format == "webp":
        img.save(buffer, format="WEBP", quality=quality, method=4)
    else:
        raise ValueError(f"format must be png, jpeg or webp, got {format!r}")
    return buffer.getvalue()


def _rate(fps: float) -> Fraction:
    if not (isinstance(fps, int | float | Fraction) and math.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps!r}")
    # 23.976 -> 24000/1001: the rates cameras and players use are ratios with small denominators.
    return Fraction(fps).limit_denominator(1001)


def _mux(path: Path, frames: np.ndarray, rate: Fraction, crf: int, preset: str) -> None:
    _, height, width, _ = frames.shape
    with av.open(str(path), mode="w", format="mp4", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream("libx264", rate=rate, options={"crf": str(crf), "preset": preset})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        # The RGB->YUV conversion below is swscale's default, BT.601 limited range; say so in
        # the stream, or players guess (browsers take untagged HD as BT.709 and shift colours).
        ctx = stream.codec_context
        ctx.colorspace = ctx.color_primaries = ctx.color_trc = _BT601
        ctx.color_range = _LIMITED_RANGE
        for pixels in frames:
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))


_HINT_CHARS = 32  # of the final name, kept in the temporary one so a stray file says whose it was


def temporary_beside(path: Path) -> Path:
    """A fresh name in `path`'s directory to write under before renaming over `path`: a random part
    makes it unique (two writes of the same name, from two folders' inputs or two processes, never
    share one), and it is short plain ASCII whatever `path` is called. A name derived whole from
    `path` would fail for a legal long name (255 bytes: 80 CJK characters) and carry its odd
    characters to the encoder."""
    hint = re.sub(r"[^A-Za-z0-9_-]+", "_", path.stem)[:_HINT_CHARS]
    return path.with_name(f".{hint}.{secrets.token_hex(8)}.tmp")


def _atomic_write(path: Path, write: Callable[[Path], object]) -> Path:
    """Run `write(tmp)` on a fresh name beside `path`, then rename it over `path`; on failure
    remove the temporary file and re-raise, leaving any previous `path` untouched."""
    tmp = temporary_beside(path)
    # O_EXCL: never reuse someone else's file; mode 0o666 lets the umask decide, as open() would.
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
