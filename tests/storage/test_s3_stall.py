"""An S3 endpoint that accepts connections and never answers (a stalled proxy, a hung server) is
given up on within bounded time, like a database that stalls: the start's probe names the setting,
and a read answers StorageUnavailable (the API's 503, a worker's retry), instead of waiting for
the S3 client's and botocore's retries of its 60 s socket timeout, minutes on end."""

from __future__ import annotations

import socket
import time

import pytest

from zoetrope.errors import ConfigError, StorageUnavailable
from zoetrope.storage import BlobStore, blobs, checked_blob_store

TIMEOUT = 1.0


@pytest.fixture()
def stalled_endpoint(monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(blobs, "S3_TIMEOUT_SECONDS", TIMEOUT, raising=False)
    listener = socket.create_server(("127.0.0.1", 0), backlog=64)  # accepts (the kernel does), never answers
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    listener.close()


def test_a_stalled_s3_endpoint_is_refused_at_start_in_bounded_time(stalled_endpoint):
    began = time.monotonic()
    with pytest.raises(ConfigError) as raised:
        checked_blob_store("s3://stalled-bucket-zt/blobs", stalled_endpoint)
    took = time.monotonic() - began
    assert raised.value.param == "ZOETROPE_BLOB_URL" and "\n" not in raised.value.message
    assert took < 12 * TIMEOUT, f"{took:.1f} s"


def test_a_read_from_a_stalled_s3_endpoint_is_storage_unavailable_in_bounded_time(stalled_endpoint):
    store = BlobStore("s3://stalled-bucket-zt-2/blobs", s3_endpoint_url=stalled_endpoint)
    began = time.monotonic()
    with pytest.raises(StorageUnavailable):
        store.get("videos/video_1/1/video.mp4")
    took = time.monotonic() - began
    assert took < 12 * TIMEOUT, f"{took:.1f} s"
