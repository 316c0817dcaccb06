"""Verify a file: its C2PA manifest, its invisible watermark, and the generation record they name."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from zoetrope.errors import InvalidMedia
from zoetrope.media import read_video
from zoetrope.media.decode import _read_image, _reason, _rgb, _shrunk_image
from zoetrope.media.sources import SUPPORTED, Upload, sniff
from zoetrope.safety.provenance import C2PAReport, read_provenance
from zoetrope.safety.watermark import WatermarkResult, detect_watermark, payload_for

RecordLookup = Callable[[str], dict | None]

# Pictures are read shrunk to fit inside this (the detector reads the mark at 96 px at most).
_WITHIN = (256, 256)


@dataclass(frozen=True)
class VerifyReport:
    c2pa: C2PAReport
    watermark: WatermarkResult
    record: dict | None
    watermark_matches_manifest: bool | None  # None when either signal is missing

    def to_json(self) -> dict:
        """`{"c2pa": {...}, "watermark": {...}, "record": {...} | null}` as `zoetrope verify --json` prints."""
        return {
            "c2pa": self.c2pa.to_json(),
            "watermark": {**self.watermark.to_json(), "matches_manifest": self.watermark_matches_manifest},
            "record": self.record,
        }


def verify(
    path: str | os.PathLike[str], record_lookup: RecordLookup | None = None, *, upload_limits: bool = True
) -> VerifyReport:
    """Read both provenance signals of the MP4 or image at `path`.

    `record_lookup` is asked for the generation record: first with the generation id from a
    C2PA manifest signed under this installation's root (`trusted`; an intact manifest signed by
    anyone else names no record), else with the watermark payload (8 hex digits, `payload_for(id)`); it
    returns the record as a dict, or None when there is none or the caller may not see it.
    `upload_limits` False is for a file on this machine's own disk (`zoetrope verify`): it is read
    whatever its size in bytes or frames, a picture at a time, where a file someone sent (the API,
    MCP) is held to the limits of an upload (`ZOETROPE_MAX_UPLOAD_BYTES`, `ZOETROPE_MAX_FRAMES`).
    Raises InvalidMedia when the file is not readable media.
    """
    path = Path(path)
    # The pictures first: they refuse a file that is not media in milliseconds, where reading
    # a manifest out of megabytes of a fake PNG's zeros took the C2PA reader most of a minute.
    # The detector reads the mark at 96 px at most: pictures are shrunk as they are decoded, so a
    # long 4K file is never held whole.
    frames = (
        read_video(path, None, within=_WITHIN, param="file").frames
        if upload_limits
        else _local_pictures(path)
    )
    c2pa = read_provenance(path)
    watermark = _detect_turned(frames)
    matches = None
    if c2pa.generation_id and watermark.found:
        matches = payload_for(c2pa.generation_id).hex() == watermark.payload
    record = None
    if record_lookup is not None:
        if c2pa.state == "trusted" and c2pa.generation_id:
            record = record_lookup(c2pa.generation_id)
        if record is None and watermark.found and watermark.payload:
            record = record_lookup(watermark.payload)
    return VerifyReport(c2pa=c2pa, watermark=watermark, record=record, watermark_matches_manifest=matches)


def _local_pictures(path: Path) -> np.ndarray:
    """The pictures of a file on this machine's disk as the detector reads them, at any size: a
    video's mean picture (the detector averages luma over time, and luma is linear, so the mean of
    the pictures reads as the pictures do), summed a decoded picture at a time, so memory holds one
    picture however long the file; an image as `read_video` reads it. Raises InvalidMedia as
    `read_video` does for a missing, empty, non-media, corrupt or truncated file."""
    try:
        with path.open("rb") as f:
            head = f.read(16)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise InvalidMedia(f"{path.name}: no such media file", param="file") from None
    if not head:
        raise InvalidMedia(f"{path.name} is empty", param="file")
    fmt = sniff(head)
    if fmt is None:
        raise InvalidMedia(f"{path.name} is not a supported media file (expected {SUPPORTED})", param="file")
    if fmt != "mp4":  # one picture, of any size in bytes (its pixel count is still checked)
        still = _read_image(Upload(format=fmt, name=path.name, path=path), "file")
        return _shrunk_image(still, _WITHIN)[None]
    try:
        container = av.open(str(path), mode="r")
    except av.FFmpegError as e:
        raise InvalidMedia(
            f"{path.name} is a corrupt or truncated video: {_reason(e)}", param="file"
        ) from None
    total: np.ndarray | None = None
    pictures = packets = 0
    with container:
        if not container.streams.video:
            raise InvalidMedia(
                f"{path.name} has no readable video stream (truncated, corrupt or audio only)", param="file"
            )
        stream = container.streams.video[0]
        try:
            for packet in container.demux(stream):
                packets += 1 if packet.size else 0
                for frame in packet.decode():
                    picture = _rgb(frame, _WITHIN)
                    if total is None:
                        total = np.zeros(picture.shape, np.float64)
                    elif picture.shape != total.shape:
                        raise InvalidMedia(f"{path.name} changes picture size mid-stream", param="file")
                    total += picture
                    pictures += 1
        except av.FFmpegError as e:
            raise InvalidMedia(f"{path.name} is a corrupt video: {_reason(e)}", param="file") from None
        if total is None or packets < stream.frames:  # a cut-off MP4 keeps its index, not its samples
            raise InvalidMedia(
                f"{path.name} is a truncated or corrupt video ({packets} of {stream.frames} frames readable)",
                param="file",
            )
    return (total / pictures)[None]


def _detect_turned(frames) -> WatermarkResult:
    """The mark as the frames are shown, else in a quarter, half or three-quarter turn of them: a
    file turned by its display matrix alone (a phone gallery's "rotate") or re-encoded turned keeps
    the mark in the pictures' own orientation."""
    best = detect_watermark(frames)
    for turns in (1, 3, 2):
        if best.found:
            break
        turned = detect_watermark(np.rot90(frames, turns, axes=(1, 2)))
        best = turned if turned.found or turned.z > best.z else best  # nothing found: the clearest reading
    return best
