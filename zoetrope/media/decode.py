"""Reading media back: `read_frames` decodes MP4/PNG/JPEG/WebP to frames, `probe` describes a file."""

from __future__ import annotations

import math
import re
import struct
import warnings
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

import av
import numpy as np
from PIL import Image, ImageOps

from zoetrope.errors import InvalidMedia
from zoetrope.media.sources import Source, Upload, check_frames, check_pictures, check_size, load
from zoetrope.settings import get_settings

DEFAULT_FPS = 8.0
"""Frames per second of the bundled model, used when a file does not say its own rate."""

_IMAGE_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}


@dataclass(frozen=True, eq=False)
class Media:
    """Decoded media: `frames` is uint8 (T, H, W, 3); `fps` is None for a still image (T == 1), else
    T over the clip's length by its timestamps (the file's declared rate where they agree with it).
    `times` is each video frame's presentation time in seconds from the first (None for a still, or
    where the file gives none): a variable-frame-rate clip is shown by them, not by its average rate."""

    frames: np.ndarray
    fps: float | None
    kind: Literal["video", "image"]
    times: np.ndarray | None = None

    @property
    def width(self) -> int:
        return int(self.frames.shape[2])

    @property
    def height(self) -> int:
        return int(self.frames.shape[1])

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])

    @property
    def duration(self) -> float | None:
        """Seconds of video, or None for an image."""
        return None if self.fps is None else self.num_frames / self.fps


@dataclass(frozen=True)
class MediaInfo:
    """What a file holds, read without decoding every frame. `fps`/`duration` are None for images."""

    kind: Literal["video", "image"]
    format: str
    codec: str
    width: int
    height: int
    frames: int
    fps: float | None
    duration: float | None


def read_frames(source: Source, *, param: str | None = None) -> Media:
    """Return the frames of an MP4, PNG, JPEG or WebP file path or upload bytes.

    Images give one frame (EXIF rotation applied, transparency composited on black); video frames
    come upright (the rotation a phone records in the file's display matrix applied).
    Raises InvalidMedia (with `param`) for empty, corrupt, truncated, unsupported or
    over-limit input (bytes, pixels, frames from `get_settings()`).
    """
    upload = load(source, param)
    if upload.format != "mp4":
        return Media(frames=_read_image(upload, param)[None], fps=None, kind="image")
    frames: list[np.ndarray] = []
    with _video(upload, param) as (container, stream):
        check_frames(upload, stream.frames, param)
        timeline = _Timeline(_fps(stream))
        for frame in _pictures(upload, container, stream, param):
            check_frames(upload, len(frames) + 1, param)
            frames.append(_upright(frame.to_ndarray(format="rgb24"), _quarter_turns(frame)))
            timeline.add(*_when(frame))
    return Media(frames=np.stack(frames), fps=timeline.rate, kind="video", times=timeline.times)


def read_video(
    source: Source, fps: float | None, *, within: tuple[int, int] | None = None, param: str | None = None
) -> Media:
    """A video's frames at `fps`, as `retime(read_frames(...), fps)` gives them where the file's
    timestamps rise (each new frame the one on screen at its time), read one decoded picture at a
    time: only the pictures kept become RGB, and with `within` (width, height) each larger than
    fits inside it is shrunk as it is read, keeping its aspect. So memory holds the kept frames at that size, not
    the whole file: a phone's 4K clip at 60 fps would be 15 GB of RGB. `fps` None keeps every
    picture (at the rate its timestamps give). An image is one frame, shrunk the same way. Raises
    InvalidMedia as `read_frames` does; the frame limit counts the frames kept, at `fps`, and no more
    than `max_frames` × SOURCE_RATE_FACTOR pictures are decoded to keep them."""
    return read_video_sizes(source, fps, [within], param=param)[0]


def read_video_sizes(
    source: Source, fps: float | None, boxes: Sequence[tuple[int, int] | None], *, param: str | None = None
) -> list[Media]:
    """`read_video` into each of `boxes` (each a `within`) from one decode: a Media per box, the
    same as one `read_video` per box would give (an extension keeps its source at the output's size
    and gives it to the model at the model's)."""
    upload = load(source, param)
    if upload.format != "mp4":
        still = _read_image(upload, param)
        return [Media(frames=_shrunk_image(still, box)[None], fps=None, kind="image") for box in boxes]
    kept: list[tuple[np.ndarray, ...]] = []  # each kept frame, (H, W, 3) once per box

    def keep(picture: tuple[np.ndarray, ...] | av.VideoFrame, at: float | None) -> tuple[np.ndarray, ...]:
        # The limit counts the frames as they are kept (at `fps`), not as the file stores them.
        check_frames(upload, len(kept) + 1, param, at)
        kept.append(picture if isinstance(picture, tuple) else tuple(_rgb(picture, box) for box in boxes))
        return kept[-1]

    with _video(upload, param) as (container, stream):
        timeline = _Timeline(_fps(stream))
        if fps is None:
            check_frames(upload, stream.frames, param)
            for frame in _pictures(upload, container, stream, param):
                keep(frame, None)
                timeline.add(*_when(frame))
            count, rate = len(kept), timeline.rate
        else:
            on_screen: tuple[np.ndarray, ...] | av.VideoFrame | None = None  # made RGB once kept
            # Never more than the file's samples last, whatever its timestamps say (a stray pts far ahead).
            most = max(1, round(stream.frames * fps / timeline.declared)) if stream.frames else None
            for frame in _pictures(upload, container, stream, param):
                shown = timeline.add(*_when(frame))
                while (
                    on_screen is not None
                    and len(kept) / fps + 1e-9 < shown
                    and (most is None or len(kept) < most)
                ):
                    on_screen = keep(on_screen, fps)
                on_screen = frame
            count = max(1, round(timeline.length * fps))  # as long as the file: `retime`'s count
            count, rate = count if most is None else min(count, most), fps
            while len(kept) < count and on_screen is not None:
                on_screen = keep(on_screen, fps)
    return [
        Media(frames=np.stack([frame[n] for frame in kept[:count]]), fps=rate, kind="video")
        for n in range(len(boxes))
    ]


def _rgb(frame: av.VideoFrame, within: tuple[int, int] | None) -> np.ndarray:
    """`frame` upright as uint8 (H, W, 3), shrunk (area average) to fit inside `within` when larger."""
    turns = _quarter_turns(frame)
    upright = (frame.height, frame.width) if turns % 2 else (frame.width, frame.height)
    size = _inside(*upright, within)
    if size is None:
        return _upright(frame.to_ndarray(format="rgb24"), turns)
    width, height = size[::-1] if turns % 2 else size
    return _upright(
        frame.reformat(width=width, height=height, format="rgb24", interpolation="AREA").to_ndarray(), turns
    )


def _shrunk_image(still: np.ndarray, within: tuple[int, int] | None) -> np.ndarray:
    size = _inside(still.shape[1], still.shape[0], within)
    return still if size is None else np.asarray(Image.fromarray(still).resize(size, Image.Resampling.BOX))


def _inside(width: int, height: int, within: tuple[int, int] | None) -> tuple[int, int] | None:
    """The (width, height) a picture is shrunk to so that it fits inside `within`, keeping its aspect;
    None where it already fits (or no bound is given)."""
    scale = 1.0 if within is None else min(within[0] / width, within[1] / height)
    return None if scale >= 1.0 else (max(1, round(width * scale)), max(1, round(height * scale)))


def _pictures(
    upload: Upload, container: av.container.InputContainer, stream: av.VideoStream, param: str | None
) -> Iterator[av.VideoFrame]:
    """Every decoded picture of `stream`, in presentation order; raises InvalidMedia for a corrupt
    or truncated stream (after the last picture, for a cut-off file), one that changes size, or one
    of more pictures than `check_pictures` allows (before decoding the first one over)."""
    packets = decoded = 0
    size = (stream.codec_context.width, stream.codec_context.height)
    try:
        for packet in container.demux(stream):
            packets += 1 if packet.size else 0
            check_pictures(upload, packets, param)
            for frame in packet.decode():
                if (frame.width, frame.height) != size:
                    raise InvalidMedia(f"{upload.name} changes picture size mid-stream", param=param)
                decoded += 1
                yield frame
    except av.FFmpegError as e:
        raise InvalidMedia(f"{upload.name} is a corrupt video: {_reason(e)}", param=param) from None
    _check_complete(upload, stream, packets, decoded, param)


def probe(source: Source, *, fps: float | None = None, param: str | None = None) -> MediaInfo:
    """Return a MediaInfo for a file path or upload bytes, decoding at most one frame. A video's
    `frames`, `duration` and `fps` are those it shows, by its packets' timestamps (an edit list's
    cut-off samples left out), not the rate its header declares.

    Raises InvalidMedia exactly where `read_frames` would for empty, non-media, corrupt,
    truncated or over-limit input; with `fps`, the frame limit counts the frames at that rate, as
    `read_video(source, fps)` would keep them. Either way it stops reading packets past
    `max_frames` × SOURCE_RATE_FACTOR, as the readers stop decoding there.
    """
    upload = load(source, param)
    if upload.format != "mp4":
        height, width, _ = _read_image(upload, param).shape
        return MediaInfo("image", upload.format, upload.format, width, height, 1, None, None)
    with _video(upload, param) as (container, stream):
        if fps is None:
            check_frames(upload, stream.frames, param)
        packets = decoded = turns = 0
        times: list[float | None] = []  # when each shown packet is shown, in decoding order
        end: tuple[float, float | None] = (-math.inf, None)  # (time, duration) of the last one shown
        try:
            for packet in container.demux(stream):
                packets += 1 if packet.size else 0
                check_pictures(upload, packets, param)
                if packet.size and not packet.is_discard:
                    time, duration = _when(packet)
                    times.append(time)
                    end = (time, duration) if time is not None and time >= end[0] else end
                if not decoded:  # one picture proves the stream decodes; the rest are counted
                    pictures = packet.decode()
                    decoded = len(pictures)
                    turns = _quarter_turns(pictures[0]) if pictures else 0
        except av.FFmpegError as e:
            raise InvalidMedia(f"{upload.name} is a corrupt video: {_reason(e)}", param=param) from None
        _check_complete(upload, stream, packets, decoded, param)
        timeline = _Timeline(_fps(stream))
        # Packets come in decoding order: a B-frame is shown before the picture it was decoded after.
        # Only the last one's duration counts (the clip lasts to its end).
        timed = [time for time in times if time is not None]
        ordered = sorted(timed) if len(timed) == len(times) else times
        for n, time in enumerate(ordered, 1):
            timeline.add(time, end[1] if n == len(ordered) else None)
        frames = max(timeline.count, 1)
        check_frames(upload, frames if fps is None else round(timeline.length * fps), param, fps)
        ctx = stream.codec_context
        width, height = (ctx.height, ctx.width) if turns % 2 else (ctx.width, ctx.height)
        return MediaInfo("video", "mp4", ctx.name, width, height, frames, timeline.rate, timeline.length)


def _reason(e: av.FFmpegError) -> str:
    """What FFmpeg found wrong, without the path it was reading (a server's temporary file)."""
    return getattr(e, "strerror", None) or str(e)


@contextmanager
def _video(upload: Upload, param: str | None) -> Iterator[tuple[av.container.InputContainer, av.VideoStream]]:
    """Yield the open container and its first video stream after the picture-size check and the
    picture count its header declares (`check_pictures`: refused before any is read; the frame
    limit is the caller's: it counts the frames it keeps)."""
    try:
        container = av.open(str(upload.path) if upload.path else upload.open(), mode="r")
    except av.FFmpegError as e:
        raise InvalidMedia(
            f"{upload.name} is a corrupt or truncated video: {_reason(e)}", param=param
        ) from None
    with container:
        if not container.streams.video:
            raise InvalidMedia(
                f"{upload.name} has no readable video stream (truncated, corrupt or audio only)", param=param
            )
        stream = container.streams.video[0]
        check_size(upload, stream.codec_context.width, stream.codec_context.height, param)
        check_pictures(upload, stream.frames, param)
        yield container, stream


def _check_complete(
    upload: Upload, stream: av.VideoStream, packets: int, decoded: int, param: str | None
) -> None:
    # A cut-off MP4 keeps its index (moov) but loses sample data: fewer packets than indexed.
    if decoded == 0 or packets < stream.frames:
        raise InvalidMedia(
            f"{upload.name} is a truncated or corrupt video ({packets} of {stream.frames} frames readable)",
            param=param,
        )


def _quarter_turns(frame: av.VideoFrame) -> int:
    """Counter-clockwise quarter turns that show `frame` upright (its display matrix): a phone's
    portrait clip is stored on its side with -90 (a clockwise turn). Odd angles are not applied."""
    degrees = frame.rotation
    return round(degrees / 90) % 4 if degrees % 90 == 0 and abs(degrees) <= 360 else 0


def _upright(picture: np.ndarray, turns: int) -> np.ndarray:
    return np.ascontiguousarray(np.rot90(picture, turns)) if turns else picture


class _Timeline:
    """When a video's pictures are shown, by their own timestamps: each one's time from the first,
    and the clip's length, to the end of the last (its time plus how long it is shown). The rate a
    file declares is an average over every sample it stores, which an edit list that cuts the clip
    (as `ffmpeg -ss ... -c copy` writes) or a muxer's wrong table throws off; it counts only where
    the timestamps are missing or do not rise, and where it agrees with them (a steady clip keeps
    its exact 30000/1001)."""

    def __init__(self, declared: float) -> None:
        self.declared = declared
        self.count = 0
        self._times: list[float] = []  # from the first picture's, while every one has one and they rise
        self._first: float | None = None
        self._last_duration: float | None = None
        self._rising = True

    def add(self, time: float | None, duration: float | None) -> float:
        """Seconds from the first picture at which the next one (at `time`, shown `duration`) is shown."""
        self.count += 1
        if self.count == 1:
            self._first = time
        shown = time - self._first if time is not None and self._first is not None else None
        if shown is None or (self._times and shown <= self._times[-1]):
            self._rising = False
        elif self._rising:
            self._times.append(shown)
        self._last_duration = duration
        return shown if shown is not None else (self.count - 1) / self.declared

    @property
    def times(self) -> np.ndarray | None:
        """Every picture's time from the first's, or None unless all have one and they rise."""
        return np.asarray(self._times, np.float64) if self._rising and self.count else None

    @property
    def rate(self) -> float:
        """Pictures a second over the clip's length: the declared rate unless the timestamps say otherwise."""
        times = self.times
        if times is None or not self.count:
            return self.declared
        last = self._last_duration or (times[-1] / (self.count - 1) if self.count > 1 else 1 / self.declared)
        span = times[-1] + last
        # Within half a frame of the declared rate's length: that rate, exactly.
        return (
            self.declared
            if abs(span - self.count / self.declared) < 0.5 / self.declared
            else self.count / span
        )

    @property
    def length(self) -> float:
        """Seconds from the first picture's time to the end of the last."""
        return self.count / self.rate


def _when(picture: av.VideoFrame | av.Packet) -> tuple[float | None, float | None]:
    """When a decoded picture (or the packet it comes from) is shown, and for how long, in seconds;
    None for what the file does not say."""
    base = picture.time_base
    if base is None:
        return None, None
    time = None if picture.pts is None else float(picture.pts * base)
    ticks = getattr(picture, "duration", None)  # a frame of an older PyAV has none
    return time, float(ticks * base) if ticks else None


def _fps(stream: av.VideoStream) -> float:
    rate = stream.average_rate or stream.guessed_rate
    return float(rate) if rate else DEFAULT_FPS


@contextmanager
def _image(upload: Upload, param: str | None) -> Iterator[Image.Image]:
    """Yield the opened (not yet decoded) image after the pixel-limit check."""
    with upload.open() as fp:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                img = Image.open(fp, formats=[_IMAGE_FORMATS[upload.format]])
        except Image.DecompressionBombError as e:
            raise _too_many_pixels(upload, e, param) from None
        except (OSError, SyntaxError, ValueError) as e:
            raise _corrupt_image(upload, e, param) from None
        with img:
            check_size(upload, img.width, img.height, param)
            yield img


def _too_many_pixels(upload: Upload, error: Image.DecompressionBombError, param: str | None) -> InvalidMedia:
    """The pixel limit's refusal for a picture Pillow will not open at all (more than twice its own
    limit): its size as Pillow counted it, and the limit that applies, the lower of the two."""
    limit = get_settings().max_pixels
    limit = min(limit, 2 * Image.MAX_IMAGE_PIXELS) if Image.MAX_IMAGE_PIXELS else limit
    counted = re.search(r"\((\d+) pixels\)", str(error))
    size = f"{int(counted.group(1)):,} pixels" if counted else "too many pixels"
    return InvalidMedia(
        f"{upload.name} is {size}, over the limit of {limit:,}; send a smaller picture", param=param
    )


def _read_image(upload: Upload, param: str | None) -> np.ndarray:
    """Return the decoded image as uint8 (H, W, 3).

    A PNG whose only fault is an ancillary chunk with a wrong CRC (a tampered C2PA `caBX`, say) is
    read without that chunk: the picture is intact, and it is for the manifest's check, not the
    decoder's, to say what changed."""
    try:
        return _decoded_image(upload, param)
    except InvalidMedia:
        repaired = _without_broken_ancillary_chunks(upload) if upload.format == "png" else None
        if repaired is None:
            raise
        return _decoded_image(Upload(format=upload.format, name=upload.name, data=repaired), param)


def _without_broken_ancillary_chunks(upload: Upload) -> bytes | None:
    """The PNG's bytes less its ancillary chunks whose CRC does not match, or None where there is
    none such (or the chunk structure itself is broken)."""
    with upload.open() as fp:
        data = fp.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    kept, at, dropped = [data[:8]], 8, False
    while at + 12 <= len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        end = at + 12 + length
        if end > len(data):
            return None
        kind, body, (crc,) = (
            data[at + 4 : at + 8],
            data[at + 8 : end - 4],
            struct.unpack(">I", data[end - 4 : end]),
        )
        if zlib.crc32(kind + body) != crc and kind[:1].islower():  # lower case first letter: ancillary
            dropped = True
        else:
            kept.append(data[at:end])
        at = end
    return b"".join(kept) if dropped else None


def _decoded_image(upload: Upload, param: str | None) -> np.ndarray:
    with _image(upload, param) as img:
        try:
            img.load()
            img = ImageOps.exif_transpose(img)
        except (OSError, SyntaxError, ValueError) as e:
            raise _corrupt_image(upload, e, param) from None
        if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
            img = _eight_bit(img)
        if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
            rgba = img.convert("RGBA")
            img = Image.alpha_composite(Image.new("RGBA", rgba.size, (0, 0, 0, 255)), rgba)
        return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()


def _eight_bit(img: Image.Image) -> Image.Image:
    """A 16-bit (or 32-bit integer or float) grey image as 8-bit grey, scaled rather than clipped:
    Pillow's own conversion clips at 255, which turns a 16-bit picture nearly white."""
    values = np.asarray(img, dtype=np.float64)
    if img.mode == "F":  # floats: take the picture's own range
        low, high = float(np.nanmin(values)), float(np.nanmax(values))
        scaled = (values - low) / (high - low or 1.0) * 255
    else:
        scaled = values / (65535 if img.mode.startswith("I;16") or values.max() > 255 else 255) * 255
    return Image.fromarray(np.clip(np.nan_to_num(scaled), 0, 255).round().astype(np.uint8), "L")


def _corrupt_image(upload: Upload, error: Exception, param: str | None) -> InvalidMedia:
    # Pillow's own words name the file object it read (a server's temporary path, or a memory
    # address): the reason is kept only when it says something about the picture.
    reason = str(error)
    detail = "" if ("<_io." in reason or "cannot identify" in reason or not reason) else f": {reason}"
    return InvalidMedia(f"{upload.name} is not a readable {upload.format.upper()} image{detail}", param=param)
