"""The blob store on a local directory and on S3 (moto's server on loopback)."""

from __future__ import annotations

import pytest

from zoetrope.errors import NotFound
from zoetrope.storage import BlobStore, ByteRange, parse_range


@pytest.fixture(scope="module")
def s3_endpoint():
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(params=["local", "s3"])
def blobs(request, tmp_path, monkeypatch):
    if request.param == "local":
        return BlobStore(str(tmp_path / "blobs"))
    endpoint = request.getfixturevalue("s3_endpoint")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    import boto3

    bucket = f"zt-{tmp_path.name.lower().replace('_', '-')[-40:]}"
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
    return BlobStore(f"s3://{bucket}/prefix", s3_endpoint_url=endpoint)


def test_put_get_size_and_ranges(blobs):
    data = bytes(range(256)) * 10
    blobs.put("videos/v1/1/video.mp4", data)
    assert blobs.get("videos/v1/1/video.mp4") == data and blobs.size("videos/v1/1/video.mp4") == len(data)
    assert b"".join(blobs.iter_range("videos/v1/1/video.mp4", ByteRange(10, 19))) == data[10:20]


def test_delete_prefix_removes_a_jobs_files(blobs):
    blobs.put("videos/v2/1/a.mp4", b"a")
    blobs.put("videos/v2/1/b.webp", b"b")
    blobs.delete_prefix("videos/v2")
    assert not blobs.exists("videos/v2/1/a.mp4")
    with pytest.raises(NotFound):
        blobs.get("videos/v2/1/b.webp")
    blobs.delete_prefix("videos/never-there")


def test_keys_cannot_escape_the_root(blobs):
    with pytest.raises(ValueError):
        blobs.put("../outside", b"x")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-9", ByteRange(0, 9)),
        ("bytes=90-", ByteRange(90, 99)),
        ("bytes=-10", ByteRange(90, 99)),
        ("bytes=50-500", ByteRange(50, 99)),
        # Not one well-formed byte range: ignored, the whole blob is served (RFC 9110 14.2).
        ("bytes=abc", None),
        ("bytes=5-2", None),
        ("bytes=1", None),
        ("bytes=-", None),
        ("bytes=0-1,5-6", None),
        ("items=0-9", None),
    ],
)
def test_range_headers(header, expected):
    assert parse_range(header, 100) == expected


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=100-200", "bytes=-0"])
def test_unsatisfiable_range_is_refused(header):
    with pytest.raises(ValueError):
        parse_range(header, 100)


def test_a_store_that_works_passes_the_probe_and_keeps_nothing_of_it(blobs):
    blobs.check()
    assert not blobs.exists(".probe") or blobs.fs.ls(blobs._path(".probe")) == []


def test_a_store_that_cannot_hold_outputs_is_refused_at_start_naming_the_setting(tmp_path, s3_endpoint,
                                                                                  monkeypatch):
    from zoetrope.errors import ConfigError
    from zoetrope.storage import checked_blob_store

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    (tmp_path / "file").write_text("not a folder")
    for url, endpoint, says in (
        ("foo://x", None, "Protocol not known"),
        (str(tmp_path / "file" / "blobs"), None, "Not a directory"),
        ("s3://no-such-bucket-zt/blobs", s3_endpoint, "cannot write blobs to s3://no-such-bucket-zt/blobs"),
    ):
        with pytest.raises(ConfigError, match=says) as e:
            checked_blob_store(url, endpoint)
        assert e.value.param == "ZOETROPE_BLOB_URL" and "\n" not in e.value.message
