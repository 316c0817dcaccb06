"""A file's C2PA state follows its bytes, not its name: a signed file saved under another kind's
extension reads as it does under its own, damage included."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
from typer.testing import CliRunner

from zoetrope.cli import app
from zoetrope.media import write_mp4, write_png
from zoetrope.safety import read_provenance, sign_file


def _frames() -> np.ndarray:
    return (np.random.default_rng(5).random((8, 64, 64, 3)) * 255).astype(np.uint8)


@pytest.mark.parametrize("name", ["still.mp4", "still.jpg", "still.mov", "still"])
def test_a_signed_png_under_another_name_is_checked_as_a_png(tmp_path, name):
    png = write_png(tmp_path / "still.png", _frames()[0])
    sign_file(png, generation_id="video_abc", model="zoetrope-mini")
    renamed = png.rename(tmp_path / name)
    assert read_provenance(renamed).state == "trusted"
    data = bytearray(renamed.read_bytes())
    at = data.index(b"caBX") - 4
    (length,) = struct.unpack(">I", data[at : at + 4])
    data[at + 8 + length] ^= 0x01  # the manifest chunk's CRC: its bytes are not what was signed
    renamed.write_bytes(bytes(data))
    report = read_provenance(renamed)
    assert report.state == "invalid" and "png.caBX.crcMismatch" in report.failures, report
    result = CliRunner().invoke(app, ["verify", str(renamed), "--json"])
    assert result.exit_code == 1, result.output
    assert json.loads(result.output)["c2pa"]["state"] == "invalid"


@pytest.mark.parametrize("name", ["clip.mov", "clip.png", "clip"])
def test_a_signed_mp4_under_another_name_still_reads_trusted(tmp_path, name):
    mp4 = write_mp4(tmp_path / "clip.mp4", _frames(), fps=8)
    sign_file(mp4, generation_id="video_abc", model="zoetrope-mini")
    report = read_provenance(mp4.rename(tmp_path / name))
    assert report.state == "trusted" and report.generation_id == "video_abc", report
