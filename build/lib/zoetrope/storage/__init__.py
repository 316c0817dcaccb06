"""Blob storage (local directory or S3-compatible) for media the jobs produce and read."""

from __future__ import annotations

from functools import lru_cache

from zoetrope.storage.blobs import BlobStore, ByteRange, parse_range

__all__ = ["BlobStore", "ByteRange", "parse_range", "blob_store_for"]


@lru_cache(maxsize=8)
def blob_store_for(url: str, s3_endpoint_url: str | None = None) -> BlobStore:
    """One shared store per URL in a process."""
    return BlobStore(url, s3_endpoint_url=s3_endpoint_url)
