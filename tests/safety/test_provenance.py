"""C2PA: fresh files validate, edits name their parent, a flipped byte makes the file invalid."""

from __future__ import annotations

from datetime import UTC, datetime

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
    made = datetime.fromisoformat(report.signed_at)  # from the action's `when`: no timestamp authority here
    assert abs((datetime.now(UTC) - made).total_seconds()) < 600
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


CREATE_AT_ONCE = """
import sys, time
from pathlib import Path
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from zoetrope.safety.keys import signing_identity

folder, start = Path(sys.argv[1]), float(sys.argv[2])
time.sleep(max(0.0, start - time.time()))  # every process asks at the same moment
identity = signing_identity(folder)
key = serialization.load_pem_private_key(identity.key_pem, None).public_key()
cert = x509.load_pem_x509_certificate(identity.chain_pem).public_key()
print(key == cert, identity.chain_pem.decode().replace(chr(10), ""))
"""


def test_worker_processes_signing_their_first_videos_at_once_share_one_matching_identity(tmp_path):
    import subprocess
    import sys
    import time

    folder = tmp_path / "c2pa"
    start = str(time.time() + 3)  # after every interpreter has imported
    procs = [
        subprocess.Popen([sys.executable, "-c", CREATE_AT_ONCE, str(folder), start], stdout=subprocess.PIPE, text=True)
        for _ in range(12)
    ]
    outs = [p.communicate(timeout=120)[0].strip().split(" ", 1) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert all(match == "True" for match, _ in outs)  # each key beside its own certificate
    assert len({chain for _, chain in outs}) == 1  # one CA made, the others read it
    on_disk = (folder / "signer.pem").read_text().replace("\n", "")
    assert {chain for _, chain in outs} == {on_disk}
