"""Uploads and files as the media layer reads them: where the bytes are, what kind they are."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from zoetrope.errors import InvalidMedia
from zoetrope.settings import get_settings

Source = str | os.PathLike[str] | bytes | bytearray | memoryview
"""A file path, or the bytes of an upload held in memory."""

Format = Literal["mp4", "png", "jpeg", "webp"]

SUPPORTED = "MP4, PNG, JPEG or WebP"

# The first atom of an ISO media file (MP4/MOV/M4V). `ftyp` is nearly universal; the others
# open files from older QuickTime writers.
_MP4_ATOMS = (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip")

# Major brands of HEIF files (a phone's HEIC photo, an AVIF picture or sequence): ISO media files too,
# which the video demuxer would read as a clip of one tile of the picture, not as the picture.
_HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1",
                b"avif", b"avis")  # fmt: skip

SOURCE_RATE_FACTOR = 30
"""Pictures a video may store per frame of the limit (`max_frames`): the frame limit counts a clip
at the rate it is read at, but every stored picture is demuxed and decoded to get there, so at most
`max_frames` × this many are (a camera's 240 fps slow motion read at a model's 8 fps is 30)."""


@dataclass(frozen=True)
class Upload:
    """A size-checked, sniffed source: `format` says how to decode it, `open()` yields its bytes."""

    format: Format
    name: str
    path: Path | None = None
    data: bytes | None = None

    def open(self) -> BinaryIO:
        """Return a fresh binary stream positioned at the start (the caller closes it)."""
        if self.data is not None:
            return io.BytesIO(self.data)
        assert self.path is not None
        return self.path.open("rb")


def load(source: Source, param: str | None = None) -> Upload:
    """Return the source as an Upload after checking it exists, is non-empty, fits the byte limit
    and starts like one of the supported formats.

    Raises InvalidMedia naming the problem (and `param`) otherwise.
    """
    limit = get_settings().max_upload_bytes
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        name, size, path = "upload", len(data), None
        head = data[:16]
    else:
        path = Path(os.fspath(source))
        name, data = path.name, None
        try:
            size = path.stat().st_size
            with path.open("rb") as f:
                head = f.read(16)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise InvalidMedia(f"{name}: no such media file", param=param) from None
    shown = param if path is None and param else name  # bytes sent as a field: the field's name
    if size == 0:
        raise InvalidMedia(f"{shown} is empty", param=param)
    if size > limit:
        raise InvalidMedia(f"{shown} is {size} bytes, over the upload limit of {limit} bytes", param=param)
    fmt = sniff(head)
    if fmt is None:
        if is_heif(head):
            raise InvalidMedia(
                f"{shown} is a HEIC or AVIF picture, which is not supported: send it as PNG, JPEG or WebP",
                param=param,
            )
        raise InvalidMedia(f"{shown} is not a supported media file (expected {SUPPORTED})", param=param)
    return Upload(format=fmt, name=name, path=path, data=data)


def sniff(head: bytes) -> Format | None:
    """Return the format the leading bytes announce, or None for anything unsupported."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[4:8] in _MP4_ATOMS and not is_heif(head):
        return "mp4"
    return None


def is_heif(head: bytes) -> bool:
    """Whether the leading bytes are those of a HEIF picture (HEIC, AVIF): an ISO media file whose
    `ftyp` names a picture brand, which `sniff` does not take for a video."""
    return head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS


def check_size(upload: Upload, width: int, height: int, param: str | None) -> None:
    """Raise InvalidMedia when width×height is over the configured pixel limit."""
    limit = get_settings().max_pixels
    if width * height > limit:
        raise InvalidMedia(
            f"{upload.name} is {width}x{height} = {width * height} pixels, over the limit of {limit}",
            param=param,
        )
    if width <= 0 or height <= 0:
        raise InvalidMedia(f"{upload.name} has no picture ({width}x{height})", param=param)


def check_frames(upload: Upload, frames: int, param: str | None, fps: float | None = None) -> None:
    """Raise InvalidMedia when a video holds more frames than the configured limit: `frames` as the
    file stores them, or, with `fps`, as many as it gives at that rate (the rate a model reads it at:
    a 60 fps clip read at 8 fps is 8 frames a second, so its length is what counts)."""
    limit = get_settings().max_frames
    if frames <= limit:
        return
    field = f" for {param}" if param else ""
    if fps is not None:
        raise InvalidMedia(
            f"{upload.name} is more than {limit} frames at the {fps:g} fps it is read at, over the limit of "
            f"{limit}{field}; send a clip of at most {limit / fps:.4g} seconds",
            param=param,
        )
    raise InvalidMedia(
        f"{upload.name} has {frames} frames, over the limit of {limit}{field}; send a shorter clip, or one at a "
        "lower frame rate (a model reads a clip at its own rate, 8 fps for zoetrope-mini)",
        param=param,
    )


def check_pictures(upload: Upload, pictures: int, param: str | None) -> None:
    """Raise InvalidMedia when a video stores more pictures than are read for it: `max_frames` ×
    SOURCE_RATE_FACTOR, whatever rate it is read at (a clip of 100,000 tiny pictures at 40,000 fps
    is a few frames at 8 fps, but every picture decoded). `pictures` is the count a header declares,
    or the count read so far: the caller checks each before decoding it, to stop there."""
    limit = get_settings().max_frames * SOURCE_RATE_FACTOR
    if pictures <= limit:
        return
    field = f" for {param}" if param else ""
    raise InvalidMedia(
        f"{upload.name} has more than {limit} pictures{field} (the limit: {limit // SOURCE_RATE_FACTOR} frames × "
        f"{SOURCE_RATE_FACTOR} pictures each); send a shorter clip or one at a lower frame rate",
        param=param,
    )
