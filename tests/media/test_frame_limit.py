"""The frame limit (`max_frames`) counts a clip's frames at the rate they are read at, not as stored."""

from __future__ import annotations

import numpy as np
import pytest

from zoetrope.errors import InvalidMedia
from zoetrope.media import encode_mp4, probe, read_frames, read_video


def _clip(count: int, fps: float) -> bytes:
    return encode_mp4(
        np.zeros((count, 16, 16, 3), np.uint8) + np.arange(count, dtype=np.uint8)[:, None, None, None],
        fps=fps,
    )


@pytest.mark.parametrize(
    ("count", "fps"),
    [(120, 60), (4, 2)],  # 2 s each: 16 frames at a model's 8 fps
)
def test_a_clip_within_the_limit_at_the_models_rate_is_read(limits, count, fps):
    limits(max_frames=16)
    data = _clip(count, fps)
    assert len(read_video(data, 8, param="video").frames) == 16
    assert probe(data, fps=8, param="video").duration == pytest.approx(2)


@pytest.mark.parametrize(
    ("count", "fps"),
    [(128, 60), (5, 2)],  # 2.13 s and 2.5 s: 17 and 20 frames at 8 fps (the 2 fps clip stores only 5)
)
def test_a_clip_over_the_limit_at_the_models_rate_is_refused_with_the_longest_accepted(limits, count, fps):
    limits(max_frames=16)
    data = _clip(count, fps)
    for read in (lambda: read_video(data, 8, param="video"), lambda: probe(data, fps=8, param="video")):
        with pytest.raises(InvalidMedia) as caught:
            read()
        assert caught.value.param == "video"
        assert "limit of 16 for video" in caught.value.message
        assert "at the 8 fps it is read at" in caught.value.message
        assert "at most 2 seconds" in caught.value.message


def test_readers_that_keep_every_picture_count_them_as_stored(limits):
    limits(max_frames=16)
    data = _clip(120, 60)
    for read in (read_frames, probe, lambda d, param: read_video(d, None, param=param)):
        with pytest.raises(InvalidMedia, match="has 120 frames, over the limit of 16 for video"):
            read(data, param="video")
