"""Reading uploads back to frames, and probing what a file holds."""

from __future__ import annotations

import io
import struct
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from zoetrope.media import encode_mp4, probe, read_frames


def pil_bytes(pixels: np.ndarray, format: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=format, **options)
    return buffer.getvalue()


@pytest.mark.parametrize("format", ["JPEG", "WEBP"])
def test_jpeg_and_webp_read_as_one_close_frame(format: str, smooth_frames, psnr) -> None:
    still = smooth_frames(count=1)[0]
    media = read_frames(pil_bytes(still, format, quality=95))
    assert media.kind == "image" and media.fps is None and media.duration is None
    assert media.frames.shape == (1, 48, 64, 3) and media.frames.dtype == np.uint8
    assert psnr(media.frames[0], still) > 30


def test_reads_from_a_path_or_bytes_alike(tmp_path: Path, smooth_frames) -> None:
    data = encode_mp4(smooth_frames(count=3))
    (tmp_path / "clip.mp4").write_bytes(data)
    from_path, from_bytes = read_frames(tmp_path / "clip.mp4"), read_frames(data)
    np.testing.assert_array_equal(from_path.frames, from_bytes.frames)
    assert from_path.fps == from_bytes.fps == 8


def test_transparent_png_is_composited_on_black() -> None:
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:2, ..., 3] = 255  # top half opaque red, bottom half fully transparent
    frame = read_frames(pil_bytes(rgba, "PNG")).frames[0]
    assert (frame[:2, :, 0] == 200).all() and (frame[2:] == 0).all()


def test_jpeg_exif_rotation_is_applied() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    data = pil_bytes(np.zeros((10, 30, 3), np.uint8), "JPEG", exif=exif)
    assert read_frames(data).frames.shape == (1, 30, 10, 3)


def test_probe_describes_a_video(smooth_frames) -> None:
    info = probe(encode_mp4(smooth_frames(count=10), fps=5))
    assert (info.kind, info.format, info.codec) == ("video", "mp4", "h264")
    assert (info.width, info.height, info.frames, info.fps) == (64, 48, 10, 5)
    assert info.duration == pytest.approx(2.0)


def test_probe_describes_an_image(tmp_path: Path) -> None:
    path = tmp_path / "still.webp"
    path.write_bytes(pil_bytes(np.zeros((20, 30, 3), np.uint8), "WEBP"))
    info = probe(path)
    assert (info.kind, info.format, info.width, info.height, info.frames) == ("image", "webp", 30, 20, 1)
    assert info.fps is None and info.duration is None


def test_a_16_bit_grey_png_is_scaled_to_8_bits_not_clipped() -> None:
    import io

    from PIL import Image

    ramp = np.repeat(
        np.linspace(0, 65535, 64).astype(np.uint16)[None, :], 8, 0
    )  # (8, 64), left black, right white
    buf = io.BytesIO()
    Image.fromarray(ramp).save(buf, "PNG")
    frame = read_frames(buf.getvalue()).frames[0]
    assert frame.shape == (8, 64, 3)
    assert frame[0, 0, 0] == 0 and frame[0, -1, 0] == 255 and 120 <= frame[0, 32, 0] <= 135


def _with_display_matrix(mp4: bytes, matrix: tuple[int, ...]) -> bytes:
    """`mp4` with its video track's display matrix (tkhd, version 0) set, as a phone writes a portrait clip."""
    data = bytearray(mp4)
    at = data.find(b"tkhd") + 4 + 40  # version/flags, times, track id, duration, layer, volume
    data[at : at + 36] = struct.pack(">9i", *matrix)
    return bytes(data)


def test_a_phone_portrait_clip_reads_upright() -> None:
    # Stored 64x48 on its side, with the matrix of a clockwise quarter turn (a phone held upright).
    stored = np.zeros((8, 48, 64, 3), np.uint8)
    stored[:, :8, :8] = 255  # white in the stored picture's top-left corner
    clip = _with_display_matrix(
        encode_mp4(stored, crf=0), (0, 0x10000, 0, -0x10000, 0, 0, 48 << 16, 0, 0x40000000)
    )
    frames = read_frames(clip).frames
    assert frames.shape == (8, 64, 48, 3)  # portrait, as every player shows it
    assert frames[0, :8, -8:].mean() > 200 and frames[0, :8, :8].mean() < 50  # turned clockwise: top-right
    info = probe(clip)
    assert (info.width, info.height) == (48, 64)


def _mp4_at_times(frames: np.ndarray, times_ms: list[int]) -> bytes:
    """An H.264 MP4 whose frames are shown at `times_ms` (a variable frame rate)."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=1000)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv444p"
        stream.time_base = Fraction(1, 1000)
        stream.options = {"crf": "0"}
        for picture, ms in zip(frames, times_ms, strict=True):
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts, frame.time_base = ms, Fraction(1, 1000)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return buffer.getvalue()


def test_a_variable_frame_rate_clip_is_resampled_by_its_timestamps() -> None:
    from zoetrope.media import retime

    # Five frames: 0 and 1 an eighth of a second each, 2 held for a whole second, then 3 and 4.
    frames = (
        np.zeros((5, 16, 16, 3), np.uint8) + np.array([0, 60, 120, 180, 240], np.uint8)[:, None, None, None]
    )
    media = read_frames(_mp4_at_times(frames, [0, 125, 250, 1250, 1375]))
    np.testing.assert_allclose(media.times, [0, 0.125, 0.25, 1.25, 1.375], atol=1e-3)
    at_8 = retime(media.frames, media.fps, 8, media.times)[:, 0, 0, 0].astype(int)
    # Frame 2 stays on screen for the eight frames of its second; the average rate would have shown
    # every frame for the same time.
    assert len(at_8) == round(5 * 8 / media.fps) == 11  # as long as before: 1.375 s
    expected = [0, 60] + [120] * 8 + [180]  # frame 2 from 0.25 s to 1.25 s
    assert np.abs(at_8[:11] - expected).max() <= 2


def _cut_clip(values: list[int], times_ms: list[int], cut_ms: int, last_ms: int) -> bytes:
    """An H.264 MP4 of flat pictures of `values` shown at `times_ms` (the last for `last_ms`), cut
    without re-encoding to start `cut_ms` in, as `ffmpeg -ss ... -c copy` cuts: an edit list. The
    file still stores every picture, so the frame count and average rate it declares are the whole's."""
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=1000)
        stream.width, stream.height, stream.pix_fmt = 16, 16, "yuv444p"
        stream.time_base = Fraction(1, 1000)
        stream.options = {"crf": "0", "bf": "0", "x264-params": "scenecut=0"}  # one keyframe, in order
        packets = []
        for value, ms in zip(values, times_ms, strict=True):
            frame = av.VideoFrame.from_ndarray(np.full((16, 16, 3), value, np.uint8), format="rgb24")
            frame.pts, frame.time_base = ms, Fraction(1, 1000)
            packets += stream.encode(frame)
        packets += stream.encode()
        for packet, after in zip(packets, [*times_ms[1:], times_ms[-1] + last_ms], strict=True):
            packet.duration = after - packet.pts
            packet.pts -= cut_ms
            packet.dts -= cut_ms
            container.mux(packet)
    return buffer.getvalue()


def test_a_cut_clip_is_read_by_its_frames_timestamps_not_its_declared_rate() -> None:
    from zoetrope.media import read_video, retime

    # A second at 30 fps that the edit list cuts off, then pictures at 0, 0.25, 0.5, 2.5 and 3 s,
    # the last shown for half a second: 3.5 s of video.
    times = [round(i * 1000 / 30) for i in range(30)] + [1000, 1250, 1500, 3500, 4000]
    data = _cut_clip([10] * 30 + [50, 90, 130, 170, 210], times, cut_ms=1000, last_ms=500)
    with av.open(io.BytesIO(data)) as container:  # what the file declares: 35 frames over 4.5 s
        stream = container.streams.video[0]
        assert stream.frames == 35 and float(stream.average_rate) == pytest.approx(35 / 4.5, rel=1e-3)
    info = probe(data)
    assert info.frames == 5 and info.duration == pytest.approx(3.5, abs=1e-3)
    whole = read_frames(data)
    np.testing.assert_allclose(whole.times, [0, 0.25, 0.5, 2.5, 3], atol=1e-3)
    assert whole.duration == pytest.approx(3.5, abs=1e-3)
    at_8 = read_video(data, 8).frames
    shown = [50] * 2 + [90] * 2 + [130] * 16 + [170] * 4 + [210] * 4  # the picture on screen at k / 8 s
    assert len(at_8) == len(shown) == 28
    assert np.abs(at_8[:, 0, 0, 0].astype(int) - shown).max() <= 2
    np.testing.assert_array_equal(at_8, retime(whole.frames, whole.fps, 8, whole.times))


@pytest.mark.parametrize("fps", [30, 12.5, 8, 4])
def test_read_video_keeps_the_frames_retime_would(fps) -> None:
    from zoetrope.media import read_video, retime

    clip = (np.arange(40, dtype=np.uint8)[:, None, None, None] * 6).repeat(32, 1).repeat(32, 2).repeat(3, 3)
    data = encode_mp4(clip, fps=fps, crf=0)
    whole = read_frames(data)
    np.testing.assert_array_equal(read_video(data, 8).frames, retime(whole.frames, whole.fps, 8))


def test_read_video_follows_timestamps_and_the_display_matrix() -> None:
    from zoetrope.media import read_video, retime

    frames = (
        np.zeros((5, 16, 16, 3), np.uint8) + np.array([0, 60, 120, 180, 240], np.uint8)[:, None, None, None]
    )
    varying = _mp4_at_times(frames, [0, 125, 250, 1250, 1375])
    whole = read_frames(varying)
    np.testing.assert_array_equal(
        read_video(varying, 8).frames, retime(whole.frames, whole.fps, 8, whole.times)
    )
    stored = np.zeros((8, 48, 64, 3), np.uint8)
    stored[:, :8, :8] = 255
    portrait = _with_display_matrix(
        encode_mp4(stored, crf=0), (0, 0x10000, 0, -0x10000, 0, 0, 48 << 16, 0, 0x40000000)
    )
    shrunk = read_video(portrait, 8, within=(24, 24)).frames
    assert shrunk.shape == (8, 24, 18, 3)  # upright, then fitted inside 24x24 keeping its 3:4
    assert shrunk[0, :3, -3:].mean() > 200


def test_read_video_holds_only_the_kept_frames_at_the_size_asked() -> None:
    import tracemalloc

    from zoetrope.media import read_video

    big = np.zeros((48, 480, 640, 3), np.uint8)  # 2 s at 24 fps: 44 MB as RGB
    big[:, 100:380, 100:540] = np.linspace(0, 255, 48, dtype=np.uint8)[:, None, None, None]
    data = encode_mp4(big, fps=24)
    tracemalloc.start()
    try:
        read = read_video(data, 8, within=(64, 64))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert read.frames.shape == (16, 48, 64, 3) and read.fps == 8
    assert peak < big.nbytes / 20  # about one picture at full size, then 16 small ones
    assert abs(int(read.frames[8, 24, 32, 0]) - int(big[24, 240, 320, 0])) < 8  # frame 8 is 1 s in: frame 24


def test_read_video_at_no_rate_keeps_every_picture(smooth_frames) -> None:
    from zoetrope.media import read_video

    data = encode_mp4(smooth_frames(count=5), fps=30)
    every = read_video(data, None)
    np.testing.assert_array_equal(every.frames, read_frames(data).frames)
    assert every.fps == 30
