"""A loop, blend or recut job on a source that is not the model's size keeps the source's own frames:
the new footage is made at the model's size and rescaled, the source is written around it as it was."""

from __future__ import annotations

import numpy as np
import pytest

from zoetrope import media
from zoetrope.backends.base import no_progress
from zoetrope.backends.bundled import BundledBackend, write_tiny_random_weights
from zoetrope.jobs.finalize import mark_frames
from zoetrope.jobs.models import Job
from zoetrope.jobs.render import render
from zoetrope.storage import BlobStore


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    path = write_tiny_random_weights(tmp_path_factory.mktemp("weights"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZOETROPE_WEIGHTS_DIR", str(path))
        yield BundledBackend()


@pytest.fixture(scope="module")
def board() -> np.ndarray:
    """9 frames of 128x128 (twice the model's 64x64): a checkerboard of 4-pixel squares, which a trip
    through 64x64 blurs away, over a changing red."""
    yy, xx = np.mgrid[:128, :128]
    frames = np.empty((9, 128, 128, 3), np.uint8)
    frames[...] = ((yy // 4 + xx // 4) % 2 * 160 + 40).astype(np.uint8)[None, :, :, None]
    frames[..., 0] = np.linspace(30, 200, 9, dtype=np.uint8)[:, None, None]
    return frames


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(255**2 / max(np.mean((a.astype(float) - b.astype(float)) ** 2), 1e-9)))


@pytest.mark.parametrize(
    ("task", "params", "frames"),
    [
        ("recut", {"new_seconds": 0.0, "options": {"trim": [0, 1.125]}}, 9),  # a trim alone
        ("recut", {"new_seconds": 0.5, "options": {"trim": [0, 1.125]}}, 9 + 4),
        ("loop", {"new_seconds": 0.5}, 9 + 4),
        ("blend", {"new_seconds": 0.5, "target_key": "inputs/video_x/b.mp4"}, 9 + 4 + 9),
    ],
)
def test_kept_footage_is_the_source_at_its_own_size(tmp_path, backend, board, task, params, frames):
    blobs = BlobStore(str(tmp_path / "blobs"))
    data = media.encode_mp4(board, fps=8, crf=0)
    blobs.put("inputs/video_x/source.mp4", data)
    blobs.put("inputs/video_x/b.mp4", data)
    job = Job(
        id="video_x", prompt="it goes on", task=task, seconds="2", size="128x128", attempts=1,
        backend_model=backend.name,
        params={"native_width": 64, "native_height": 64, "source_key": "inputs/video_x/source.mp4", **params},
    )  # fmt: skip
    render(job, backend, blobs, no_progress)
    made = media.read_frames(blobs.get("videos/video_x/1/video.mp4")).frames
    assert made.shape == (frames, 128, 128, 3)
    # What a user expects of the kept footage is their source with this video's marks: the job draws
    # its visible watermark on every frame, kept ones too, and embeds its invisible one, so the source
    # is compared as marked. The MP4 encoder keeps that at 23.8 dB on this checkerboard; a trip through
    # the model's 64x64 and back blurred it to 17.2 dB.
    expected = mark_frames(board, generation_id=job.id, width=128, height=128, visible_watermark=True)
    assert psnr(made[:9], expected) > 21
    if task == "blend":  # clip B after the new frames: 20 dB (the encoder spends less on it), 16 dB before
        assert psnr(made[-9:], expected) > 18.5
