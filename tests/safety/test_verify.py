"""Verify and output moderation: the report a user sees, from the CLI and from Python."""

from __future__ import annotations

import json
import struct
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from zoetrope.cli import app
from zoetrope.errors import InvalidMedia, OutputBlocked
from zoetrope.media import write_mp4
from zoetrope.safety import check_frames, embed_watermark, moderate_frames, payload_for, sign_file, verify

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from watermark import clip  # noqa: E402


def _released(tmp_path, generation_id="video_v1"):
    path = write_mp4(tmp_path / "out.mp4", embed_watermark(clip(1000, 128), generation_id), fps=8)
    return sign_file(path, generation_id=generation_id, model="zoetrope-mini")


def test_verify_reports_manifest_watermark_and_record(tmp_path):
    path = _released(tmp_path)
    asked = []

    def lookup(key):
        asked.append(key)
        return {"id": key, "status": "completed"} if key == "video_v1" else None

    body = verify(path, lookup).to_json()
    assert body["c2pa"]["valid"] and body["c2pa"]["state"] == "trusted"
    assert body["c2pa"]["actions"] == ["c2pa.created"] and body["c2pa"]["issuer"] == "Zoetrope"
    assert body["watermark"]["found"] and body["watermark"]["payload"] == payload_for("video_v1").hex()
    assert body["watermark"]["matches_manifest"] is True
    assert body["record"] == {"id": "video_v1", "status": "completed"} and asked == ["video_v1"]


def test_verify_falls_back_to_the_watermark_when_the_manifest_is_stripped(tmp_path):
    frames = embed_watermark(clip(1000, 128), "video_v2")
    path = write_mp4(tmp_path / "stripped.mp4", frames, fps=8)
    report = verify(path, lambda key: {"by": key})
    assert report.c2pa.state == "not_present"
    assert report.record == {"by": payload_for("video_v2").hex()}


def test_cli_verify_json_and_text(tmp_path):
    path = _released(tmp_path)
    result = CliRunner().invoke(app, ["verify", str(path), "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert set(body) == {"c2pa", "watermark", "record", "record_found_by", "problems", "notes"}
    assert body["record"] is None and body["problems"] == []
    text = CliRunner().invoke(app, ["verify", str(path)]).output
    assert "trusted" in text and "found" in text


def test_cli_verify_exits_1_for_a_file_changed_after_signing(tmp_path):
    path = _released(tmp_path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one byte of the media, flipped
    path.write_bytes(bytes(data))
    for args in (["verify", str(path)], ["verify", str(path), "--json"]):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 1 and "invalid" in result.output, result.output


def test_cli_moderate_exit_code_names_the_category():
    blocked = CliRunner().invoke(app, ["moderate", "a nazi rally with swastika flags"])
    assert blocked.exit_code == 1 and "extremism" in blocked.output
    assert CliRunner().invoke(app, ["moderate", "a red kite over a beach"]).exit_code == 0


def test_frame_check_passes_our_procedural_clips():
    for seed in range(3):
        verdict = check_frames(clip(seed, 128))
        assert not verdict.flagged and verdict.scores["sexual"] < 0.5
        assert len(verdict.frames_checked) == 8


class _AlwaysFlags:
    categories = ("sexual",)

    def scores(self, frames):
        return [{"sexual": 0.99} for _ in frames]


def test_flagged_frames_raise_output_blocked():
    frames = np.zeros((4, 32, 32, 3), np.uint8)
    try:
        moderate_frames(frames, classifier=_AlwaysFlags())
    except OutputBlocked as e:
        assert e.code == "output_blocked" and "sexual" in e.message
    else:
        raise AssertionError("expected OutputBlocked")


def test_verify_reads_a_signed_video_saved_under_another_name(tmp_path):
    path = _released(tmp_path)
    renamed = path.rename(tmp_path / "download.bin")
    body = verify(renamed).to_json()
    assert body["c2pa"]["valid"] and body["watermark"]["found"]
    text = tmp_path / "notes.txt"
    text.write_text("not media at all\n")
    result = CliRunner().invoke(app, ["verify", str(text)])
    assert result.exit_code != 0 and "signing" not in str(result.exception)


def test_verify_finds_the_mark_in_a_large_file_read_shrunk(tmp_path):
    # A 640x480 clip: its pictures are shrunk as they are decoded, the mark is still read.
    big = np.asarray(clip(1001, 128)).repeat(5, 1).repeat(5, 2)[:, :480]  # (16, 480, 640, 3)
    path = write_mp4(tmp_path / "big.mp4", embed_watermark(big, "video_big"), fps=8)
    report = verify(path)
    assert report.watermark.found and report.watermark.payload == payload_for("video_big").hex()


def test_verify_finds_the_mark_in_a_turned_copy(tmp_path):
    # A copy re-encoded a quarter turn round (or turned by its display matrix alone, as a phone
    # gallery does): the mark is read in the pictures' own orientation.
    turned = np.rot90(embed_watermark(clip(1002, 128)[:, :, :96], "video_turned"), 1, axes=(1, 2))
    path = write_mp4(tmp_path / "turned.mp4", np.ascontiguousarray(turned), fps=8)
    report = verify(path)
    assert report.watermark.found and report.watermark.payload == payload_for("video_turned").hex()


def test_cli_verifies_a_local_file_over_the_upload_limit(tmp_path, monkeypatch):
    # A real MP4 made larger than the 64 MiB upload limit by a `free` box (ISO BMFF padding every
    # reader skips), then signed: the CLI reads the user's own file whatever its size.
    path = write_mp4(tmp_path / "huge.mp4", embed_watermark(clip(1000, 128), "video_huge"), fps=8)
    end, pad = path.stat().st_size, 65 * 1024 * 1024
    with path.open("r+b") as f:
        f.seek(end)
        f.write(struct.pack(">I4s", 8 + pad, b"free"))
        f.truncate(end + 8 + pad)
    sign_file(path, generation_id="video_huge", model="zoetrope-mini")
    assert path.stat().st_size > 64 * 1024 * 1024
    # More pictures than an upload may hold, too (16 against 4): they are read one at a time.
    monkeypatch.setenv("ZOETROPE_MAX_FRAMES", "4")
    from zoetrope.settings import get_settings

    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["verify", str(path), "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["c2pa"]["state"] == "trusted" and body["c2pa"]["generation_id"] == "video_huge"
    assert body["watermark"]["found"] and body["watermark"]["payload"] == payload_for("video_huge").hex()
    assert body["watermark"]["matches_manifest"] is True
    # A file someone sends (the API, MCP) is still held to the upload limit.
    with pytest.raises(InvalidMedia, match="over the upload limit"):
        verify(path)


def test_cli_verifies_a_local_still_over_the_upload_limit(tmp_path, monkeypatch):
    from zoetrope.media import encode_png
    from zoetrope.settings import get_settings

    still = embed_watermark(clip(1005, 128)[:1], "video_still")[0]  # one frame the mark reads in
    path = tmp_path / "still.png"
    path.write_bytes(encode_png(still))
    monkeypatch.setenv("ZOETROPE_MAX_UPLOAD_BYTES", "1000")  # far below the PNG's size
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["verify", str(path), "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["watermark"]["found"] and body["watermark"]["payload"] == payload_for("video_still").hex()
    with pytest.raises(InvalidMedia, match="over the upload limit"):
        verify(path)


@pytest.mark.timeout(120)  # a pipe once blocked the read for ever
def test_verify_names_what_is_not_a_regular_readable_file_in_json(tmp_path, monkeypatch):
    import os

    (tmp_path / "loop.mp4").symlink_to("loop.mp4")
    os.mkfifo(tmp_path / "pipe.mp4")
    (tmp_path / "folder.mp4").mkdir()
    locked = tmp_path / "locked.mp4"
    locked.write_bytes(b"not media, and not readable")
    locked.chmod(0)
    if os.geteuid() == 0:  # root reads it anyway: make the command's own check see it as a user would
        monkeypatch.setattr(os, "access", lambda *args, **kwargs: False)
    cases = {
        "loop.mp4": "cannot be read",
        "pipe.mp4": "not a regular file",
        "folder.mp4": "is a directory",
        "locked.mp4": "",
    }
    for name, says in cases.items():
        result = CliRunner().invoke(app, ["verify", str(tmp_path / name), "--json"])
        assert result.exit_code == 2, (name, result.output)
        error = json.loads(result.stdout)["error"]
        assert error["param"] == "file" and name in error["message"] and says in error["message"], error


def test_verify_finds_the_mark_in_a_mirrored_transposed_or_framed_copy(tmp_path):
    # Copies made to shake the mark off: mirrored either way, transposed, or framed in 16 px bars,
    # each re-encoded. The unmarked clip, treated alike, still reads as unmarked.
    from zoetrope.media import encode_mp4, read_frames

    marked = read_frames(encode_mp4(embed_watermark(clip(1003, 64), "video_geo"), fps=8, crf=18)).frames
    copies = {
        "mirrored": marked[:, :, ::-1],
        "upside down": marked[:, ::-1],
        "transposed": marked.transpose(0, 2, 1, 3),
        "letterboxed": np.pad(marked, ((0, 0), (16, 16), (0, 0), (0, 0))),
        "pillarboxed, mirrored": np.pad(
            marked[:, ::-1], ((0, 0), (0, 0), (16, 16), (0, 0)), constant_values=90
        ),
    }
    for name, frames in copies.items():
        path = write_mp4(tmp_path / "copy.mp4", np.ascontiguousarray(frames), fps=8, crf=28)
        report = verify(path)
        assert report.watermark.found and report.watermark.payload == payload_for("video_geo").hex(), name
    clean = np.pad(clip(1003, 64)[:, :, ::-1], ((0, 0), (16, 16), (0, 0), (0, 0)))
    assert not verify(write_mp4(tmp_path / "clean.mp4", clean, fps=8, crf=28)).watermark.found
