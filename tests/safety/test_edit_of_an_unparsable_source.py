"""An edit whose source C2PA cannot parse as an ingredient (an MP4 with bytes after its last box, which
players and the decoder read) is still signed: it says it was made here, then edited."""

from __future__ import annotations

import numpy as np

from zoetrope.jobs.finalize import sign
from zoetrope.media import read_video, write_mp4
from zoetrope.safety import read_provenance, sign_file
from zoetrope.safety.provenance import COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA


def _frames(seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).random((9, 64, 64, 3)) * 255).astype(np.uint8)


def test_an_edit_of_an_mp4_with_trailing_bytes_is_signed_as_made_here_then_edited(tmp_path):
    source = write_mp4(tmp_path / "clip.mp4", _frames(0), fps=8)
    source.write_bytes(source.read_bytes() + b"\x00\x01trailing bytes a download left" * 8)
    assert read_video(source, 8).num_frames == 9  # still a video anyone can play
    out = write_mp4(tmp_path / "extended.mp4", _frames(1), fps=8)
    sign(out, "video_" + "a" * 32, "zoetrope-mini", parent=source, task="extend")
    report = read_provenance(out)
    assert report.state == "trusted" and not report.failures, report
    assert report.actions == ["c2pa.created", "c2pa.edited"], report.actions
    assert report.digital_source_type == COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA
    assert report.generation_id == "video_" + "a" * 32 and report.parent is None


def test_edited_alone_is_signed_with_a_created_action_first(tmp_path):
    out = write_mp4(tmp_path / "remixed.mp4", _frames(2), fps=8)
    sign_file(out, generation_id="video_abc", model="zoetrope-mini", actions=["c2pa.edited"])
    report = read_provenance(out)
    assert report.state == "trusted" and report.actions == ["c2pa.created", "c2pa.edited"], report
