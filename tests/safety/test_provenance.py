"""C2PA: fresh files validate, edits name their parent, a flipped byte makes the file invalid."""

from __future__ import annotations

import numpy as np
import pytest

from zoetrope.media import write_mp4, write_png
from zoetrope.safety import read_provenance, sign_file
from zoetrope.safety.provenance import TRAINED_ALGORITHMIC_MEDIA


def _frames(seed: int = 0, t: int = 8) -> np.ndarray:
    return (np.random.default_rng(seed).random((t, 64, 64, 3)) * 255).astype(np.uint8)


@pytest.fixture
def mp4(tmp_path):
    return write_mp4(tmp_path / "clip.mp4", _frames(), fps=8)


@pytest.fixture
def png(tmp_path):
    return write_png(tmp_path / "still.png", _frames()[0])


@pytest.mark.parametrize("kind", ["mp4", "png"])
def test_fresh_signed_file_is_trusted_and_names_the_generation(kind, request):
    path = request.getfixturevalue(kind)
    assert read_provenance(path).state == "not_present"
    sign_file(path, generation_id="video_abc", model="zoetrope-mini")
    report = read_provenance(path)
    assert report.state == "trusted" and report.valid  # our own root is in the data dir
    assert report.actions == ["c2pa.created"]
    assert report.digital_source_type == TRAINED_ALGORITHMIC_MEDIA
    assert (report.generation_id, report.model, report.issuer) == ("video_abc", "zoetrope-mini", "Zoetrope")
    assert [p.name for p in path.parent.glob(f"*{path.suffix}*")] == [path.name]  # no temporary left


def test_signed_file_reads_valid_without_our_root(mp4, tmp_path, monkeypatch):
    sign_file(mp4, generation_id="video_abc", model="zoetrope-mini")
    (tmp_path / "zoetrope-data" / "c2pa" / "root.pem").unlink()
    report = read_provenance(mp4)
    assert report.state == "valid" and not report.failures


@pytest.mark.parametrize("kind", ["mp4", "png"])
def test_one_flipped_byte_of_media_makes_the_manifest_invalid(kind, request):
    path = request.getfixturevalue(kind)
    sign_file(path, generation_id="video_abc", model="zoetrope-mini")
    data = bytearray(path.read_bytes())
    # Inside the media data: the mdat payload at the end of an MP4, the IDAT middle of a PNG.
    at = len(data) - 100 if kind == "mp4" else data.index(b"IDAT") + 40
    data[at] ^= 0x01
    path.write_bytes(bytes(data))
    report = read_provenance(path)
    assert report.state == "invalid" and not report.valid
    assert any("mismatch" in f for f in report.failures)


def test_edit_records_the_parent_as_ingredient(tmp_path, mp4):
    sign_file(mp4, generation_id="video_parent", model="zoetrope-mini")
    child = write_mp4(tmp_path / "extended.mp4", _frames(1, 12), fps=8)
    sign_file(child, generation_id="video_child", model="zoetrope-mini", parent=mp4)
    report = read_provenance(child)
    assert report.valid, report.failures
    assert report.actions == ["c2pa.opened", "c2pa.edited"]
    assert report.parent == "clip.mp4" and report.generation_id == "video_child"
