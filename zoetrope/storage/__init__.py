"""Blob storage (local directory or S3-compatible) for media the jobs produce and read."""

from __future__ import annotations

from functools import lru_cache

from zoetrope.errors import ConfigError
from zoetrope.storage.blobs import BlobStore, ByteRange, parse_range

__all__ = ["BlobStore", "ByteRange", "parse_range", "blob_store_for", "checked_blob_store"]


@lru_cache(maxsize=8)
def blob_store_for(url: str, s3_endpoint_url: str | None = None) -> BlobStore:
    """One shared store per URL in a process."""
    return BlobStore(url, s3_endpoint_url=s3_endpoint_url)


def checked_blob_store(url: str, s3_endpoint_url: str | None = None) -> BlobStore:
    """The store at `url`, once a probe blob was written and read there; ConfigError naming the setting
    otherwise (what `serve` and `worker` open at start)."""
    try:
        store = blob_store_for(url, s3_endpoint_url)
    except Exception as e:  # an unknown protocol, a folder under a file, a malformed endpoint...
        reason = str(e).strip().splitlines()[0] if str(e) else type(e).__name__
        raise ConfigError(f"cannot open the blob store {url}: {reason}; fix ZOETROPE_BLOB_URL",
                          param="ZOETROPE_BLOB_URL") from None
    store.check()
    return store
