"""Verify a file: its C2PA manifest, its invisible watermark, and the generation record they name."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from zoetrope.media import read_video
from zoetrope.safety.provenance import C2PAReport, read_provenance
from zoetrope.safety.watermark import WatermarkResult, detect_watermark, payload_for

RecordLookup = Callable[[str], dict | None]


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


def verify(path: str | os.PathLike[str], record_lookup: RecordLookup | None = None) -> VerifyReport:
    """Read both provenance signals of the MP4 or image at `path`.

    `record_lookup` is asked for the generation record: first with the generation id from a
    C2PA manifest signed under this installation's root (`trusted`; an intact manifest signed by
    anyone else names no record), else with the watermark payload (8 hex digits, `payload_for(id)`); it
    returns the record as a dict, or None when there is none or the caller may not see it.
    Raises InvalidMedia when the file is not readable media.
    """
    path = Path(path)
    # The pictures first: they refuse a file that is not media in milliseconds, where reading
    # a manifest out of megabytes of a fake PNG's zeros took the C2PA reader most of a minute.
    # The detector reads the mark at 96 px at most: pictures are shrunk as they are decoded, so a
    # long 4K file is never held whole.
    frames = read_video(path, None, within=(256, 256), param="file").frames
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
