"""A job's stored inputs as the worker reads them back."""

from __future__ import annotations

import numpy as np
import pytest

from zoetrope import media
from zoetrope.backends.base import Capabilities, GenerationRequest, no_progress
from zoetrope.errors import NotFound
from zoetrope.jobs.models import Job
from zoetrope.jobs.render import generation_inputs, generation_request, render
from zoetrope.media import decode
from zoetrope.safety.watermark import strip_watermark
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


class _Recording:
    """A model that keeps the request it was given and makes grey frames at its native size."""

    name = "recording-test"

    def __init__(self) -> None:
        self.requests: list[GenerationRequest] = []

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(
            tasks=("t2v", "extend"),
            sizes=((112, 64),),
            max_seconds=10,
            fps=8,
            default_steps=1,
            depicts_people=False,
        )

    def generate(self, request: GenerationRequest, progress=no_progress):
        self.requests.append(request)
        yield np.full((8, request.height, request.width, 3), 128, np.uint8)


def _decodes(monkeypatch) -> list[str]:
    """Count every pass that decodes a video's pictures (`media.decode`'s picture generator)."""
    passes: list[str] = []
    original = decode._pictures

    def counted(upload, *args, **kwargs):
        passes.append(upload.name)
        return original(upload, *args, **kwargs)

    monkeypatch.setattr(decode, "_pictures", counted)
    return passes


@pytest.mark.parametrize("size", ["224x128", "56x32"])
def test_an_extension_at_another_size_decodes_its_source_once(tmp_path, monkeypatch, size):
    """The footage kept at the output's size and the model's input at its own come from one decode
    of the source, the same frames as a read at each size gave; larger and smaller than the model's."""
    width, height = map(int, size.split("x"))
    t, y, x = np.meshgrid(np.arange(48), np.arange(180), np.arange(320), indexing="ij")
    clip = np.stack([128 + 100 * np.sin(x / 40 + t / 5), 128 + 100 * np.cos(y / 30), 60 + 0 * t], -1).astype(
        np.uint8
    )
    data = media.encode_mp4(clip, fps=24, crf=10)  # 2 s, 16:9, read at the model's 8 fps
    blobs = BlobStore(str(tmp_path / "blobs"))
    blobs.put("inputs/video_x/source.mp4", data)
    job = Job(
        id="video_x", prompt="it keeps going", task="extend", seconds="3", size=size, attempts=1,
        backend_model="recording-test",
        params={"native_width": 112, "native_height": 64, "source_key": "inputs/video_x/source.mp4",
                "new_seconds": 1.0, "watermark": False},
    )  # fmt: skip
    # What two reads gave: one at the model's size, one at the output's.
    at_native = media.fit(strip_watermark(media.read_video(data, 8, within=(112, 64)).frames)[0], 112, 64)
    at_output = media.fit(
        strip_watermark(media.read_video(data, 8, within=(width, height)).frames)[0], width, height
    )
    model = _Recording()
    passes = _decodes(monkeypatch)
    render(job, model, blobs, no_progress)
    assert passes == ["upload"]
    given = model.requests[0].source
    assert given.shape == at_native.shape == (16, 64, 112, 3)
    np.testing.assert_array_equal(given, at_native)
    assert media.read_frames(blobs.get("videos/video_x/1/video.mp4")).frames.shape == (24, height, width, 3)
    kept = generation_inputs(job, blobs, 8).kept  # as `render` stitched it to the new footage
    np.testing.assert_array_equal(kept, at_output)
