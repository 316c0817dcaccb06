"""A finished job's downloadable files, served whole or by byte range (browsers seek with Range)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from zoetrope.errors import InvalidRequest, NotFound, ZoetropeError
from zoetrope.jobs.models import COMPLETED, FAILED, Job, now
from zoetrope.storage import BlobStore, ByteRange, parse_range

_MEDIA_TYPES = {"mp4": "video/mp4", "png": "image/png", "webp": "image/webp", "jpg": "image/jpeg"}


class RangeNotSatisfiable(ZoetropeError):
    status = 416
    code = "range_not_satisfiable"

    def __init__(self, message: str, *, size: int) -> None:
        super().__init__(message, param="range")
        self.headers = {"content-range": f"bytes */{size}"}  # what RFC 9110 asks a 416 to carry


@dataclass
class Content:
    status: int
    media_type: str | None  # None: no body to type (304)
    chunks: Iterator[bytes]
    headers: dict[str, str] = field(default_factory=dict)


def open_content(
    blobs: BlobStore, job: Job, variant: str, range_header: str | None, *, body: bool = True,
    if_range: str | None = None, if_none_match: str | None = None,
) -> Content:
    """The variant's bytes; 206 with Content-Range when a satisfiable Range was asked for.

    Each file has a strong ETag (its bytes never change); a Range sent with an If-Range that is not
    that ETag (another version, or a date: there is no Last-Modified) gets the whole file, as RFC 9110
    asks, so a resumed download never splices two files. An If-None-Match that holds the ETag (or `*`)
    gets 304 and no bytes, whatever the Range: the client's copy is this file. `body=False` (a HEAD
    request) gives the same status and headers with no bytes, and reads no blob."""
    if job.status == FAILED:
        raise InvalidRequest(f"video {job.id} failed, so it has no content; see its error",
                             param="video_id", code="video_failed")
    if job.status != COMPLETED:
        raise InvalidRequest(
            f"video {job.id} is {job.status}; its content is ready once it is completed",
            param="video_id",
            code="video_not_ready",
        )
    if job.expires_at is not None and job.expires_at < now():
        raise NotFound(f"the content of video {job.id} expired", param="video_id", code="content_expired")
    key = job.outputs.get(variant) or (job.outputs.get("image") if variant == "video" else None)
    if key is None:
        raise InvalidRequest(f"video {job.id} has no {variant}", param="variant")
    size = blobs.size(key)
    media_type = _MEDIA_TYPES.get(key.rsplit(".", 1)[-1], "application/octet-stream")
    etag = f'"{hashlib.sha256(key.encode()).hexdigest()[:20]}-{size}"'
    headers = {"accept-ranges": "bytes", "cache-control": "private, max-age=3600", "etag": etag}
    if if_none_match is not None and _holds(if_none_match, etag):
        return Content(304, None, iter(()), headers)
    if if_range is not None and if_range.strip() != etag:
        range_header = None  # the client's copy is not this file: it gets all of this one
    try:
        wanted = parse_range(range_header, size)
    except ValueError as e:
        raise RangeNotSatisfiable(str(e), size=size) from None
    status, span = (200, ByteRange(0, size - 1)) if wanted is None else (206, wanted)
    if wanted is not None:
        headers["content-range"] = f"bytes {wanted.start}-{wanted.end}/{size}"
    headers["content-length"] = str(span.length)
    return Content(status, media_type, blobs.iter_range(key, span) if body else iter(()), headers)


def _holds(if_none_match: str, etag: str) -> bool:
    """Whether an If-None-Match list holds `etag` or is `*`; compared weakly (RFC 9110 13.1.2), so a
    proxy's `W/` form of the tag matches too."""
    tags = [tag.strip() for tag in if_none_match.split(",")]
    return "*" in tags or any(tag.removeprefix("W/") == etag for tag in tags)
