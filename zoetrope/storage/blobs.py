"""The blob store: MP4s, thumbnails, spritesheets and uploads, through fsspec.

A local directory by default; `s3://bucket/prefix` (any S3-compatible service, endpoint from
`ZOETROPE_S3_ENDPOINT_URL`) when workers on several machines share one store.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import fsspec

from zoetrope.errors import ConfigError, NotFound, StorageUnavailable

log = logging.getLogger(__name__)

_CHUNK = 256 * 1024
UNAVAILABLE = "storage is unavailable for a moment; try again after the Retry-After seconds"
# botocore's own retries (its default takes ~10 s to give up on an unreachable endpoint): a few
# quick tries, then the caller hears StorageUnavailable (the API answers 503, a worker retries the
# job later).
_S3_RETRIES = {"mode": "standard", "max_attempts": 3}

try:
    from botocore.exceptions import BotoCoreError as _BotoCoreError
except ImportError:  # pragma: no cover - s3fs brings botocore
    _BotoCoreError = OSError


@contextmanager
def _reaching(key: str) -> Iterator[None]:
    """Map the store's errors to the domain's: missing is NotFound; unreachable, refused or full
    is StorageUnavailable."""
    try:
        yield
    except FileNotFoundError:
        raise NotFound(f"blob {key!r} does not exist") from None
    except (OSError, _BotoCoreError) as e:
        # The details (endpoint, bucket, key, a local path) are the operator's: logged, and kept as
        # the cause; a client reads only that storage is away for now.
        log.warning("blob store unavailable for %r: %s: %s", key, type(e).__name__, e)
        raise StorageUnavailable(UNAVAILABLE) from e


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
            options["config_kwargs"] = {"retries": _S3_RETRIES}
            # Listing caches would hide blobs written by workers on other machines.
            options["use_listings_cache"] = False
        self.fs, self.root = fsspec.core.url_to_fs(self.url, **options)
        protocols = self.fs.protocol if isinstance(self.fs.protocol, tuple) else (self.fs.protocol,)
        self.local = "file" in protocols
        if self.local:
            self.fs.makedirs(self.root, exist_ok=True)

    def check(self) -> None:
        """Write, read back and delete a probe blob, so a store that cannot hold the outputs (a missing
        bucket, wrong credentials, a bad endpoint, a read-only folder) is found at start, not by a job."""
        key = f".probe/{secrets.token_hex(8)}"
        try:
            self.put(key, b"zoetrope")
            if self.get(key) != b"zoetrope":
                raise OSError("the probe blob read back different bytes")
            self.fs.rm_file(self._path(key))
        except Exception as e:  # any failure here is the configuration's
            reason = str(getattr(e, "__cause__", None) or e).strip().splitlines()[0] if str(e) else type(e).__name__
            hint = " (or ZOETROPE_S3_ENDPOINT_URL and the AWS credentials)" if not self.local else ""
            raise ConfigError(f"cannot write blobs to {self.url}: {reason}; fix ZOETROPE_BLOB_URL{hint}",
                              param="ZOETROPE_BLOB_URL") from None

    def _path(self, key: str) -> str:
        if not key or key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"invalid blob key {key!r}")
        return f"{self.root}/{key}"

    def put(self, key: str, data: bytes) -> None:
        """Write `data` at `key`; a reader never sees a half-written local file."""
        path = self._path(key)
        with _reaching(key):
            if not self.local:
                self.fs.pipe_file(path, data)
                return
            self.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
            tmp = f"{path}.part"
            try:
                with self.fs.open(tmp, "wb") as f:
                    f.write(data)
                self.fs.mv(tmp, path)
            except OSError:  # a full disk: leave no partial file behind
                if self.fs.exists(tmp):
                    self.fs.rm_file(tmp)
                raise

    def get(self, key: str) -> bytes:
        with _reaching(key):
            return self.fs.cat_file(self._path(key))

    def size(self, key: str) -> int:
        with _reaching(key):
            return int(self.fs.size(self._path(key)))

    def exists(self, key: str) -> bool:
        with _reaching(key):
            return bool(self.fs.exists(self._path(key)))

    def iter_range(self, key: str, byte_range: ByteRange) -> Iterator[bytes]:
        """The bytes of `byte_range`, in chunks, without reading the whole blob."""
        with _reaching(key), self.fs.open(self._path(key), "rb") as f:
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
            with _reaching(prefix):
                if self.fs.exists(path):
                    self.fs.rm(path, recursive=True)
        except NotFound:
            pass


_RANGE = re.compile(r"bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", re.IGNORECASE)


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The range a `Range: bytes=...` header asks for; None for the whole blob.

    As RFC 9110 asks, a header that is not one well-formed byte range (another unit, several
    ranges, `bytes=abc`, `bytes=5-2`) is ignored and the whole blob served. Raises ValueError when
    a well-formed range cannot be satisfied: it starts past the end, or asks for the last 0 bytes
    (the API answers 416).
    """
    match = _RANGE.fullmatch(header.strip()) if header else None
    if match is None or match.groups() == ("", ""):
        return None
    first, last = match.groups()
    if first == "":
        n = int(last)
        if n <= 0:
            raise ValueError("the range asks for the last 0 bytes")
        return ByteRange(max(0, size - n), size - 1)
    start = int(first)
    if last and int(last) < start:
        return None  # an invalid range-spec, not an unsatisfiable one
    if start >= size:
        raise ValueError(f"the range starts at byte {start}, past the end of a {size}-byte file")
    return ByteRange(start, min(int(last), size - 1) if last else size - 1)
