"""Verify a file: its C2PA manifest, its invisible watermark, and the generation record they name."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from zoetrope.errors import InvalidMedia
from zoetrope.media import read_video
from zoetrope.media.decode import _read_image, _reason, _rgb, _shrunk_image
from zoetrope.media.sources import SUPPORTED, Upload, is_heif, sniff
from zoetrope.safety.provenance import C2PAReport, read_provenance
from zoetrope.safety.watermark import WatermarkResult, find_watermark, payload_for

RecordLookup = Callable[[str], dict | None]

# Pictures are read shrunk to fit inside this (the detector reads the mark at 96 px at most).
_WITHIN = (256, 256)


@dataclass(frozen=True)
class VerifyReport:
    c2pa: C2PAReport
    watermark: WatermarkResult
    record: dict | None
    watermark_matches_manifest: bool | None  # None when either signal is missing
    record_found_by: str | None = None  # "manifest" (signed under our root) or "watermark" (alone)

    @property
    def problems(self) -> list[str]:
        """Why the file does not check out, each in a sentence; empty when nothing contradicts it.
        `zoetrope verify` exits 1, and the API answers `not_detected`, when there is any."""
        c, found = self.c2pa, []
        if c.state == "invalid":
            found.append("the file changed after it was signed, or its manifest is damaged")
        if c.impersonates:
            found.append("it claims to be Zoetrope's, but this installation did not sign it")
        if self.watermark_matches_manifest is False:
            found.append("the watermark does not match the manifest's generation id")
        for source in c.altered_sources:
            what = "the source it was made from" if source.depth == 1 else "a file its source was made from"
            why = (
                "had been altered"
                if source.state == "invalid"
                else "claims to be Zoetrope's, but this installation did not sign it"
            )
            found.append(f"{what} ({source.title or 'untitled'}) {why}")
        return found

    @property
    def notes(self) -> list[str]:
        """What the report cannot vouch for, though nothing contradicts it."""
        if self.record is not None and self.record_found_by == "watermark":
            return [WATERMARK_ONLY]
        return []

    def to_json(self) -> dict:
        """`{"c2pa": {...}, "watermark": {...}, "record": {...} | null, "record_found_by", "problems",
        "notes"}` as `zoetrope verify --json` prints."""
        return {
            "c2pa": self.c2pa.to_json(),
            "watermark": {**self.watermark.to_json(), "matches_manifest": self.watermark_matches_manifest},
            "record": self.record,
            "record_found_by": self.record_found_by if self.record is not None else None,
            "problems": self.problems,
            "notes": self.notes,
        }


WATERMARK_ONLY = (
    "the record was found through the watermark alone, which no signature confirms: the watermark's "
    "key is public in Zoetrope's source, so anyone can add it to a file or strip it"
)


def verify(
    path: str | os.PathLike[str], record_lookup: RecordLookup | None = None, *, upload_limits: bool = True
) -> VerifyReport:
    """Read both provenance signals of the MP4 or image at `path`.

    `record_lookup` is asked for the generation record: first with the generation id from a
    C2PA manifest signed under this installation's root (`trusted`; an intact manifest signed by
    anyone else names no record), else with the watermark payload (8 hex digits, `payload_for(id)`); it
    returns the record as a dict, or None when there is none or the caller may not see it.
    `record_found_by` says which: a record found through the watermark alone is unconfirmed (the
    watermark's key is public), and `notes` says so. `problems` lists every contradiction.
    `upload_limits` False is for a file on this machine's own disk (`zoetrope verify`): it is read
    whatever its size in bytes or frames, a picture at a time, where a file someone sent (the API,
    MCP) is held to the limits of an upload (`ZOETROPE_MAX_UPLOAD_BYTES`, `ZOETROPE_MAX_FRAMES`).
    Raises InvalidMedia when the file is not a regular, readable media file, ConfigError where this
    installation's signing files do not lead to its root.
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
    # Turned, mirrored or framed in bars, the copy is read too (`find_watermark`).
    watermark = find_watermark(frames)
    matches = None
    if c2pa.generation_id and watermark.found:
        matches = payload_for(c2pa.generation_id).hex() == watermark.payload
    record = found_by = None
    if record_lookup is not None:
        if c2pa.state == "trusted" and c2pa.generation_id:
            record, found_by = record_lookup(c2pa.generation_id), "manifest"
        if record is None and watermark.found and watermark.payload:
            record, found_by = record_lookup(watermark.payload), "watermark"
    return VerifyReport(
        c2pa=c2pa,
        watermark=watermark,
        record=record,
        watermark_matches_manifest=matches,
        record_found_by=found_by if record is not None else None,
    )


def _local_pictures(path: Path) -> np.ndarray:
    """The pictures of a file on this machine's disk as the detector reads them, at any size: a
    video's mean picture (the detector averages luma over time, and luma is linear, so the mean of
    the pictures reads as the pictures do), summed a decoded picture at a time, so memory holds one
    picture however long the file; an image as `read_video` reads it. Raises InvalidMedia as
    `read_video` does for a missing, empty, non-media, corrupt or truncated file."""
    try:
        kind = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        raise InvalidMedia(f"{path.name}: no such media file", param="file") from None
    except OSError as e:  # a loop of symbolic links, a name too long, no permission to look
        raise InvalidMedia(f"{path.name} cannot be read: {e.strerror or e}", param="file") from None
    if stat.S_ISDIR(kind):
        raise InvalidMedia(f"{path.name} is a directory, not a media file", param="file")
    if not stat.S_ISREG(kind):  # a FIFO or a device would block the read, or never end
        raise InvalidMedia(f"{path.name} is not a regular file (a pipe, socket or device)", param="file")
    try:
        with path.open("rb") as f:
            head = f.read(16)
    except OSError as e:
        raise InvalidMedia(f"{path.name} cannot be read: {e.strerror or e}", param="file") from None
    if not head:
        raise InvalidMedia(f"{path.name} is empty", param="file")
    fmt = sniff(head)
    if fmt is None:
        if is_heif(head):
            raise InvalidMedia(
                f"{path.name} is a HEIC or AVIF picture, which is not supported: send it as PNG, JPEG or WebP",
                param="file",
            )
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
