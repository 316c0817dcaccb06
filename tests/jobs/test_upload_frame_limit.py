"""An uploaded clip is held to the frame limit as the model reads it, not as its camera stored it."""

from __future__ import annotations

import numpy as np
import pytest

from zoetrope.backends.registry import Registry
from zoetrope.config import load_config
from zoetrope.errors import InvalidMedia
from zoetrope.jobs import submit
from zoetrope.media import encode_mp4
from zoetrope.settings import get_settings
from zoetrope.storage import BlobStore


def test_a_60_fps_clip_within_the_limit_at_8_fps_is_extended_and_a_longer_one_refused(
    engine, alice, tmp_path, monkeypatch
):
    monkeypatch.setenv("ZOETROPE_MAX_FRAMES", "16")  # 2 s at the model's 8 fps
    get_settings.cache_clear()
    registry, blobs = Registry(load_config()), BlobStore(str(tmp_path / "blobs"))

    def extend(frames: int):
        clip = encode_mp4(np.zeros((frames, 64, 64, 3), np.uint8) + 90, fps=60)
        req = submit.VideoRequest(prompt="it goes on", seconds="1", task="extend", source_upload=clip)
        return submit.submit(engine, registry, blobs, alice, req)

    job = extend(120)  # 2 s: 120 frames stored, 16 at 8 fps
    assert (job.seconds, job.size) == ("3", "64x64")
    with pytest.raises(InvalidMedia) as refused:
        extend(132)  # 2.2 s: 17 frames at 8 fps
    assert refused.value.param == "video" and "2 seconds" in refused.value.message
