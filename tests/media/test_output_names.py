"""Any name the filesystem takes as an output can be written: the temporary file a write goes
through is short plain ASCII beside it, unique per write, and gone once the write ends."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from zoetrope.media import Mp4Writer, read_frames, write_mp4, write_png

NAMES = [
    "视频" * 40 + ".mp4",  # 244 bytes in UTF-8: a legal name, past the limit once anything is added
    "a" * 250 + ".mp4",
    "clip\nwith a newline.mp4",
    os.fsdecode(b"caf\xe9 latin-1.mp4"),  # bytes that are not UTF-8, as a file from an old archive
    "-starts-with-a-dash.mp4",
]


@pytest.mark.parametrize("name", NAMES, ids=["cjk-244-bytes", "ascii-254", "newline", "not-utf8", "dash"])
def test_an_mp4_of_any_legal_name_is_written_whole(tmp_path: Path, smooth_frames, name: str) -> None:
    frames = smooth_frames(count=4)
    path = tmp_path / name
    write_mp4(path, frames, fps=8)
    assert read_frames(path).num_frames == 4
    streamed = tmp_path / ("s" + name[1:])
    with Mp4Writer(streamed, fps=8) as mp4:
        mp4.write(frames)
        [tmp] = [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
        assert tmp.isascii() and tmp.isprintable() and len(tmp) <= 64, tmp
    assert read_frames(streamed).num_frames == 4
    assert sorted(os.listdir(tmp_path)) == sorted([name, streamed.name])  # no temporary file left


def test_a_png_of_a_long_name_is_written(tmp_path: Path, smooth_frames) -> None:
    path = write_png(tmp_path / ("图" * 80 + ".png"), smooth_frames(count=1)[0])
    assert read_frames(path).kind == "image" and os.listdir(tmp_path) == [path.name]


def test_two_writes_of_one_name_at_once_each_go_through_their_own_file(tmp_path: Path, smooth_frames) -> None:
    frames = smooth_frames(count=4)
    path = tmp_path / "out.mp4"
    with Mp4Writer(path, fps=8) as first, Mp4Writer(path, fps=8) as second:
        first.write(frames[:2])
        second.write(frames)
        assert len([p for p in os.listdir(tmp_path) if p.endswith(".tmp")]) == 2
    assert read_frames(path).num_frames == 2 and os.listdir(tmp_path) == ["out.mp4"]  # the last to finish
