"""The blob store: MP4s, thumbnails, spritesheets and uploads, through fsspec.

A local directory by default; `s3://bucket/prefix` (any S3-compatible service, endpoint from
`ZOETROPE_S3_ENDPOINT_URL`) when workers on several machines share one store.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import fsspec

from zoetrope.errors import NotFound

_CHUNK = 256 * 1024


@dataclass(frozen=True)
class ByteRange:
    """An inclusive byte range of a blob, as an HTTP `Range` header names it."""

    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1


class BlobStore:
    """Keys like `videos/video_abc/video.mp4` under one root URL."""

    def __init__(self, url: str, *, s3_endpoint_url: str | None = None) -> None:
        self.url = url.rstrip("/")
        options: dict = {}
        if self.url.startswith("s3://"):
            options = {"client_kwargs": {"endpoint_url": s3_endpoint_url}} if s3_endpoint_url else {}
            # Listing caches would hide blobs written by workers on other machines.
            options["use_listings_cache"] = False
        self.fs, self.root = fsspec.core.url_to_fs(self.url, **options)
        protocols = self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,)
        self.local = "file" in protocols
        if self.local:
            self.fs.makedirs(self.root, exist_ok=True)

    def _path(self, key: str) -> str:
        if not key or key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"invalid blob key {key!r}")
        return f"{self.root}/{key}"

    def put(self, key: str, data: bytes) -> None:
        """Write `data` at `key`; a reader never sees a half-written local file."""
        path = self._path(key)
        if self.local:
            self.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
            tmp = f"{path}.part"
            with self.fs.open(tmp, "wb") as f:
                f.write(data)
            self.fs.mv(tmp, path)
        else:
            self.fs.pipe_file(path, data)

    def get(self, key: str) -> bytes:
        try:
            return self.fs.cat_file(self._path(key))
        except FileNotFoundError:
            raise NotFound(f"blob {key!r} does not exist") from None

    def size(self, key: str) -> int:
        try:
            return int(self.fs.size(self._path(key)))
        except FileNotFoundError:
            raise NotFound(f"blob {key!r} does not exist") from None

    def exists(self, key: str) -> bool:
        return bool(self.fs.exists(self._path(key)))

    def iter_range(self, key: str, byte_range: ByteRange) -> Iterator[bytes]:
        """The bytes of `byte_range`, in chunks, without reading the whole blob."""
        with self.fs.open(self._path(key), "rb") as f:
            f.seek(byte_range.start)
            left = byte_range.length
            while left > 0:
                chunk = f.read(min(_CHUNK, left))
                if not chunk:
                    break
                left -= len(chunk)
                yield chunk

    def delete_prefix(self, prefix: str) -> None:
        """Remove every blob under `prefix/` (a job's outputs); missing is fine."""
        path = self._path(prefix)
        try:
            if self.fs.exists(path):
                self.fs.rm(path, recursive=True)
        except FileNotFoundError:
            pass


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The range a `Range: bytes=...` header asks for; None for the whole blob.

    Raises ValueError when the range cannot be satisfied (the API answers 416).
    """
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip() != "bytes" or "," in spec:
        return None  # multi-range and other units: serve the whole blob, as RFC 9110 allows
    first, _, last = spec.strip().partition("-")
    if first == "":
        n = int(last)
        if n <= 0:
            raise ValueError("empty suffix range")
        return ByteRange(max(0, size - n), size - 1)
    start = int(first)
    end = int(last) if last else size - 1
    if start >= size or end < start:
        raise ValueError(f"range {header!r} outside a blob of {size} bytes")
    return ByteRange(start, min(end, size - 1))
