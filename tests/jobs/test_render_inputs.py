"""A job's stored inputs as the worker reads them back."""

from __future__ import annotations

import pytest

from zoetrope.errors import NotFound
from zoetrope.jobs.models import Job
from zoetrope.jobs.render import generation_request
from zoetrope.storage import BlobStore


@pytest.mark.parametrize(
    ("key", "what"),
    [("videos/video_gone/1/video.mp4", "source video"), ("inputs/video_x/source.mp4", "uploaded input")],
)
def test_a_source_deleted_before_the_job_runs_fails_it_without_storage_paths(tmp_path, key, what):
    """The remix of a video deleted while the remix waited in the queue fails with a message the
    client can act on, not the blob store's key."""
    job = Job(
        id="video_x",
        prompt="the same, at night",
        task="remix",
        seconds="1",
        params={"native_width": 64, "native_height": 64, "source_key": key, "new_seconds": 1.0},
    )
    with pytest.raises(NotFound) as caught:
        generation_request(job, BlobStore(str(tmp_path)), fps=8)
    assert caught.value.code == "source_deleted"
    assert what in caught.value.message and key not in caught.value.message
