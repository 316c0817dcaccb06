"""Writing MP4 and PNG: playable, faithful, atomic."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import av
import numpy as np
import pytest

from zoetrope.errors import InvalidMedia
from zoetrope.media import encode_mp4, encode_png, read_frames, write_mp4, write_png


def top_level_atoms(data: bytes) -> list[str]:
    atoms, offset = [], 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        atoms.append(kind.decode("latin-1"))
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        offset += size if size else len(data)
    return atoms


def test_mp4_opens_in_pyav_with_frame_count_size_fps_and_close_pixels(
    tmp_path: Path, smooth_frames, psnr
) -> None:
    frames = smooth_frames()
    path = write_mp4(tmp_path / "clip.mp4", frames, fps=8)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert stream.codec_context.colorspace == 6  # tagged BT.601, the matrix the encoder used
        assert (stream.codec_context.width, stream.codec_context.height) == (64, 48)
        assert stream.average_rate == 8
        decoded = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(stream)])
    assert decoded.shape == frames.shape
    assert psnr(decoded, frames) > 30


def test_mp4_has_moov_before_mdat_for_faststart(smooth_frames) -> None:
    atoms = top_level_atoms(encode_mp4(smooth_frames()))
    assert atoms[0] == "ftyp"
    assert atoms.index("moov") < atoms.index("mdat")


def test_encode_mp4_bytes_read_back_with_fps_and_frames(smooth_frames) -> None:
    data = encode_mp4(smooth_frames(count=5), fps=24, crf=23)
    media = read_frames(data)
    assert media.kind == "video" and media.fps == 24 and media.num_frames == 5
    assert media.duration == pytest.approx(5 / 24)


def test_fractional_fps_is_kept(smooth_frames) -> None:
    media = read_frames(encode_mp4(smooth_frames(count=4), fps=30000 / 1001))
    assert media.fps == pytest.approx(29.97, abs=0.01)


def test_odd_dimensions_are_padded_to_even(smooth_frames, psnr) -> None:
    frames = smooth_frames(count=3, height=33, width=47)
    media = read_frames(encode_mp4(frames))
    assert (media.height, media.width) == (34, 48)
    assert psnr(media.frames[:, :33, :47], frames) > 30


def test_png_round_trips_exactly(tmp_path: Path) -> None:
    frame = np.random.default_rng(0).integers(0, 256, (17, 23, 3), dtype=np.uint8)
    path = write_png(tmp_path / "still.png", frame)
    assert path.read_bytes() == encode_png(frame)
    media = read_frames(path)
    assert media.kind == "image" and media.fps is None
    np.testing.assert_array_equal(media.frames[0], frame)


def test_failed_write_leaves_no_temp_file_and_keeps_the_old_file(tmp_path: Path, smooth_frames) -> None:
    target = tmp_path / "clip.mp4"
    target.write_bytes(b"previous")
    with pytest.raises(ValueError, match="preset"):
        write_mp4(target, smooth_frames(count=2), preset="no-such-preset")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]
    assert target.read_bytes() == b"previous"


def test_wrong_frames_are_invalid_media_and_write_nothing(tmp_path: Path) -> None:
    for bad in (np.zeros((2, 8, 8, 3), np.float32), np.zeros((2, 8, 8)), np.zeros((0, 8, 8, 3), np.uint8)):
        with pytest.raises(InvalidMedia) as info:
            write_mp4(tmp_path / "bad.mp4", bad)
        assert info.value.param == "frames"
    assert list(tmp_path.iterdir()) == []


def test_fps_and_crf_out_of_range_are_rejected(smooth_frames) -> None:
    with pytest.raises(ValueError, match="fps"):
        encode_mp4(smooth_frames(count=1), fps=0)
    with pytest.raises(ValueError, match="crf"):
        encode_mp4(smooth_frames(count=1), crf=60)


def test_lower_crf_gives_higher_fidelity(smooth_frames, psnr) -> None:
    frames = smooth_frames(count=4)
    fine = read_frames(io.BytesIO(encode_mp4(frames, crf=10)).getvalue()).frames
    coarse = read_frames(encode_mp4(frames, crf=40)).frames
    assert psnr(fine, frames) > psnr(coarse, frames)
