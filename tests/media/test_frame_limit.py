"""The frame limit (`max_frames`) counts a clip's frames at the rate they are read at, not as stored."""

from __future__ import annotations

import io
from collections.abc import Callable

import av
import numpy as np
import pytest

from zoetrope.errors import InvalidMedia
from zoetrope.media import encode_mp4, probe, read_frames, read_video


def _clip(count: int, fps: float) -> bytes:
    return encode_mp4(
        np.zeros((count, 16, 16, 3), np.uint8) + np.arange(count, dtype=np.uint8)[:, None, None, None],
        fps=fps,
    )


def _fragmented_clip(count: int, fps: int) -> bytes:
    """A fragmented MP4 (as a camera streaming to a file writes): its header declares no picture count."""
    out = io.BytesIO()
    with av.open(out, "w", format="mp4", options={"movflags": "frag_keyframe+empty_moov"}) as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width = stream.height = 16
        stream.pix_fmt = "yuv420p"
        for n in range(count):
            picture = av.VideoFrame.from_ndarray(np.full((16, 16, 3), n % 256, np.uint8), format="rgb24")
            container.mux(stream.encode(picture))
        container.mux(stream.encode())
    return out.getvalue()


def _refused_after(read: Callable[[], object]) -> tuple[InvalidMedia, int]:
    """What `read` refuses with, and how many pictures (non-empty packets) it demuxed first, each one
    a picture a reader would decode."""
    demuxed = 0
    real_open = av.open

    class Counted:
        def __init__(self, container: av.container.InputContainer) -> None:
            self._container = container

        def __getattr__(self, name: str) -> object:
            return getattr(self._container, name)

        def __enter__(self) -> Counted:
            return self

        def __exit__(self, *exc: object) -> None:
            self._container.close()

        def demux(self, *streams: av.VideoStream):
            nonlocal demuxed
            for packet in self._container.demux(*streams):
                demuxed += 1 if packet.size else 0
                yield packet

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(av, "open", lambda *args, **kwargs: Counted(real_open(*args, **kwargs)))
        with pytest.raises(InvalidMedia) as caught:
            read()
    return caught.value, demuxed


READERS_AT_8_FPS = [
    pytest.param(lambda data: probe(data, fps=8, param="video"), id="probe"),
    pytest.param(lambda data: read_video(data, 8, param="video"), id="read_video"),
]


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


@pytest.mark.parametrize("layout", [_clip, _fragmented_clip])
def test_a_240_fps_slow_motion_clip_within_the_limit_at_the_models_rate_is_read(limits, layout):
    limits(max_frames=16)
    data = layout(480, 240)  # 2 s: 16 frames at 8 fps, from 16 × 30 pictures
    assert len(read_video(data, 8, param="video").frames) == 16
    assert probe(data, fps=8, param="video").duration == pytest.approx(2)


@pytest.mark.parametrize("read", READERS_AT_8_FPS)
def test_a_clip_that_declares_more_pictures_than_the_limit_allows_is_refused_before_reading_any(limits, read):
    limits(max_frames=16)
    data = _clip(1000, 1000)  # 1 s, so 8 frames at 8 fps, but 1000 pictures to decode for them
    refused, demuxed = _refused_after(lambda: read(data))
    assert demuxed == 0
    assert refused.param == "video"
    assert "more than 480 pictures for video" in refused.message
    assert "send a shorter clip or one at a lower frame rate" in refused.message


@pytest.mark.parametrize("read", READERS_AT_8_FPS)
def test_a_clip_that_declares_no_picture_count_is_refused_as_soon_as_it_passes_the_limit(limits, read):
    limits(max_frames=16)
    data = _fragmented_clip(1000, 1000)
    refused, demuxed = _refused_after(lambda: read(data))
    assert demuxed == 481
    assert "more than 480 pictures for video" in refused.message
