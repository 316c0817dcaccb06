"""A job's downloadable files: what a client is told when there are none yet, or none at all."""

from __future__ import annotations

import pytest

from zoetrope.errors import InvalidRequest
from zoetrope.jobs.content import open_content
from zoetrope.jobs.models import Job
from zoetrope.storage import BlobStore


@pytest.mark.parametrize(
    ("status", "code", "says"),
    [("queued", "video_not_ready", "ready once it is completed"), ("failed", "video_failed", "failed, so it has no content")],
)
def test_content_of_an_unfinished_or_failed_video_says_which(tmp_path, status, code, says):
    job = Job(id="video_x", prompt="a red ball", status=status, outputs={})
    with pytest.raises(InvalidRequest) as caught:
        open_content(BlobStore(str(tmp_path)), job, "video", None)
    assert caught.value.code == code and says in caught.value.message  # a failed video will never be ready


def test_each_file_has_a_strong_etag_and_a_stale_if_range_gets_the_whole_file(tmp_path):
    blobs = BlobStore(str(tmp_path))
    blobs.put("videos/video_x/1/video.mp4", b"0123456789")
    job = Job(id="video_x", prompt="a red ball", status="completed", outputs={"video": "videos/video_x/1/video.mp4"})
    whole = open_content(blobs, job, "video", None)
    etag = whole.headers["etag"]
    assert etag.startswith('"') and not etag.startswith('W/')
    part = open_content(blobs, job, "video", "bytes=4-", if_range=etag)
    assert part.status == 206 and b"".join(part.chunks) == b"456789"
    stale = open_content(blobs, job, "video", "bytes=4-", if_range='"older"')
    assert stale.status == 200 and b"".join(stale.chunks) == b"0123456789"


def test_an_if_none_match_holding_the_etag_gets_304_and_no_bytes(tmp_path):
    """A browser or a download manager revalidating its copy is told it is current, whatever its Range."""
    blobs = BlobStore(str(tmp_path))
    blobs.put("videos/video_x/1/video.mp4", b"0123456789")
    job = Job(id="video_x", prompt="a red ball", status="completed", outputs={"video": "videos/video_x/1/video.mp4"})
    etag = open_content(blobs, job, "video", None).headers["etag"]
    for held in (etag, f'"older", {etag}', f"W/{etag}", "*"):
        same = open_content(blobs, job, "video", "bytes=4-", if_none_match=held)
        assert same.status == 304 and b"".join(same.chunks) == b"" and same.headers["etag"] == etag, held
        assert "content-length" not in same.headers and same.media_type is None
    other = open_content(blobs, job, "video", None, if_none_match='"older"')
    assert other.status == 200 and b"".join(other.chunks) == b"0123456789"
