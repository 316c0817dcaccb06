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
# How long one S3 request waits to connect, and then for each read of the answer. An endpoint that
# accepts connections and never answers (a stalled proxy) would otherwise hold a download, a job's
# upload or the start's probe for botocore's 60 s a try, times its tries, times s3fs's own five.
S3_TIMEOUT_SECONDS = 10.0

try:
    from botocore.exceptions import BotoCoreError as _BotoCoreError
except ImportError:  # pragma: no cover - s3fs brings botocore
    _BotoCoreError = OSError


def missing_bucket(e: BaseException | None) -> str | None:
    """The bucket's name when `e` (or its cause) is S3's answer that the bucket does not exist."""
    while e is not None:
        error = getattr(e, "response", None)
        if isinstance(error, dict) and error.get("Error", {}).get("Code") == "NoSuchBucket":
            return error["Error"].get("BucketName") or "?"
        e = e.__cause__
    return None


@contextmanager
def _reaching(key: str) -> Iterator[None]:
    """Map the store's errors to the domain's: missing is NotFound; unreachable, refused or full
    is StorageUnavailable, and so is a bucket that is not there (the store's configuration, not
    the blob: a job is retried, a download answers 503, and the log names the bucket)."""
    try:
        yield
    except FileNotFoundError as e:
        if (bucket := missing_bucket(e)) is None:
            raise NotFound(f"blob {key!r} does not exist") from None
        log.warning("blob store unavailable for %r: bucket %r does not exist (ZOETROPE_BLOB_URL)", key, bucket)
        raise StorageUnavailable(UNAVAILABLE) from e
    except (OSError, _BotoCoreError) as e:
        # The details (endpoint, bucket, key, a local path) are the operator's: logged, and kept as
        # the cause; a client reads only that storage is away for now.
        log.warning("blob store unavailable for %r: %s: %s", key, type(e).__name__, e)
        raise StorageUnavailable(UNAVAILABLE) from e


def _s3_session():
    """An S3 client session whose uploads send their body at once. botocore asks every upload to wait
    for the server's `100 Continue` first, and aiohttp waits for that with no timeout: a stalled
    endpoint held a job's upload (and its lease, renewed meanwhile) for good."""
    from aiobotocore.session import AioSession

    session = AioSession()
    session.register("before-send.s3", _no_expect_continue)
    return session


def _no_expect_continue(request, **_) -> None:  # None: the request is sent as usual
    if "Expect" in request.headers:
        del request.headers["Expect"]  # not a signed header: the signature holds


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
            options["session"] = _s3_session()
            options["config_kwargs"] = {
                "retries": _S3_RETRIES, "connect_timeout": S3_TIMEOUT_SECONDS, "read_timeout": S3_TIMEOUT_SECONDS,
            }  # fmt: skip
            # Listing caches would hide blobs written by workers on other machines.
            options["use_listings_cache"] = False
        self.fs, self.root = fsspec.core.url_to_fs(self.url, **options)
        if options:
            self.fs.retries = 1  # botocore's tries above are the retries; s3fs's would multiply them
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
            if (bucket := missing_bucket(e)) is not None:
                reason, hint = f"bucket {bucket!r} does not exist; create it, or", " (or ZOETROPE_S3_ENDPOINT_URL)"
            else:
                reason += ";"
            raise ConfigError(f"cannot write blobs to {self.url}: {reason} fix ZOETROPE_BLOB_URL{hint}",
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
