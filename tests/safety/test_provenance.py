"""C2PA: fresh files validate, edits name their parent, a flipped byte makes the file invalid."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

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


def _copy_identity(source, folder, names=("signer.pem", "signer.key", "root.pem")):
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes((source / name).read_bytes())


def test_an_operators_signer_without_its_root_is_refused_naming_the_file(mp4, tmp_path):
    # The production setup as it used to be documented: the operator's signer.pem and signer.key,
    # no root.pem. Nothing could read `trusted` and no forgery could be told from our files.
    from typer.testing import CliRunner

    from zoetrope.cli import app
    from zoetrope.errors import ConfigError
    from zoetrope.safety.keys import create_local_ca

    create_local_ca(tmp_path / "operator-ca")
    ours = tmp_path / "zoetrope-data" / "c2pa"
    _copy_identity(tmp_path / "operator-ca", ours, ("signer.pem", "signer.key"))
    with pytest.raises(ConfigError, match="root.pem is missing"):
        sign_file(mp4, generation_id="video_abc", model="zoetrope-mini")
    with pytest.raises(ConfigError, match="root.pem is missing"):
        read_provenance(mp4)
    result = CliRunner().invoke(app, ["verify", str(mp4), "--json"])
    assert result.exit_code == 2 and "root.pem" in result.output, result.output
    assert (ours / "signer.pem").read_bytes() == (tmp_path / "operator-ca" / "signer.pem").read_bytes()
    # With the root that issued it, the operator's files read as this installation's.
    _copy_identity(tmp_path / "operator-ca", ours, ("root.pem",))
    sign_file(mp4, generation_id="video_abc", model="zoetrope-mini")
    assert read_provenance(mp4).state == "trusted"


def test_a_root_file_holding_the_old_local_root_too_keeps_earlier_files_trusted(tmp_path):
    # Moving from the local CA to one's own: root.pem may hold both roots while old files matter.
    from zoetrope.safety.keys import create_local_ca, signing_identity

    old_file = write_mp4(tmp_path / "old.mp4", _frames(6), fps=8)
    sign_file(old_file, generation_id="video_old", model="zoetrope-mini")
    ours = tmp_path / "zoetrope-data" / "c2pa"
    old_root = (ours / "root.pem").read_bytes()
    create_local_ca(tmp_path / "operator-ca")
    _copy_identity(tmp_path / "operator-ca", ours)
    assert read_provenance(old_file).state == "valid"  # the local root is gone: not ours any more
    (ours / "root.pem").write_bytes((tmp_path / "operator-ca" / "root.pem").read_bytes() + old_root)
    signing_identity()  # the new chain leads to one of the two roots
    new_file = write_mp4(tmp_path / "new.mp4", _frames(7), fps=8)
    sign_file(new_file, generation_id="video_new", model="zoetrope-mini")
    assert read_provenance(old_file).state == read_provenance(new_file).state == "trusted"


def test_a_new_signer_beside_the_old_local_root_is_refused_naming_the_fix(mp4, tmp_path):
    from zoetrope.errors import ConfigError
    from zoetrope.safety.keys import create_local_ca, signing_identity

    signing_identity()  # the local CA a first run made
    create_local_ca(tmp_path / "operator-ca")
    _copy_identity(tmp_path / "operator-ca", tmp_path / "zoetrope-data" / "c2pa", ("signer.pem", "signer.key"))
    for attempt in (lambda: sign_file(mp4, generation_id="video_abc", model="zoetrope-mini"),
                    lambda: read_provenance(mp4)):  # fmt: skip
        with pytest.raises(ConfigError, match="signer.pem does not lead to .*root.pem"):
            attempt()


def test_a_signing_key_that_is_not_the_certificates_is_refused(tmp_path):
    from zoetrope.errors import ConfigError
    from zoetrope.safety.keys import create_local_ca, signing_identity

    signing_identity()
    create_local_ca(tmp_path / "other")
    _copy_identity(tmp_path / "other", tmp_path / "zoetrope-data" / "c2pa", ("signer.key",))
    with pytest.raises(ConfigError, match="signer.key is not the key"):
        signing_identity()


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


def test_edits_say_they_are_ai_made_and_name_every_input_kept(tmp_path, mp4, png):
    from zoetrope.safety.provenance import COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA

    sign_file(mp4, generation_id="video_a", model="zoetrope-mini")
    clip_b = write_mp4(tmp_path / "b.mp4", _frames(2), fps=8)
    sign_file(clip_b, generation_id="video_b", model="zoetrope-mini")
    blend = write_mp4(tmp_path / "blend.mp4", _frames(3, 12), fps=8)
    sign_file(blend, generation_id="video_blend", model="zoetrope-mini", parent=mp4, components=[clip_b],
              source_type=COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA)  # fmt: skip
    report = read_provenance(blend)
    assert report.state == "trusted" and report.digital_source_type == COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA
    assert report.actions == ["c2pa.opened", "c2pa.edited", "c2pa.placed"]
    assert [(i.title, i.relationship, i.state) for i in report.ingredients] == [
        ("clip.mp4", "parentOf", "trusted"),
        ("b.mp4", "componentOf", "trusted"),
    ]
    # A remix is the model's own footage throughout; an unsigned still, animated, is a component.
    remix = write_mp4(tmp_path / "remix.mp4", _frames(4), fps=8)
    sign_file(remix, generation_id="video_remix", model="zoetrope-mini", parent=mp4)
    assert read_provenance(remix).digital_source_type == TRAINED_ALGORITHMIC_MEDIA
    animated = write_mp4(tmp_path / "animated.mp4", _frames(5), fps=8)
    sign_file(animated, generation_id="video_i2v", model="zoetrope-mini", components=[png],
              source_type=COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA)  # fmt: skip
    report = read_provenance(animated)
    assert report.actions == ["c2pa.created", "c2pa.placed"] and not report.altered_sources
    assert [(i.title, i.relationship, i.state) for i in report.ingredients] == [
        ("still.png", "componentOf", "not_present")
    ]


@pytest.mark.parametrize("damage", ["crc", "body"])
def test_a_png_whose_manifest_chunk_was_changed_reads_invalid_not_unreadable(png, tmp_path, damage):
    import json
    import struct
    import sys

    from typer.testing import CliRunner

    from zoetrope.cli import app

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from test_api_routes import _client

    sign_file(png, generation_id="video_abc", model="zoetrope-mini")
    data = bytearray(png.read_bytes())
    at = data.index(b"caBX") - 4
    (length,) = struct.unpack(">I", data[at : at + 4])
    data[at + 8 + (length if damage == "crc" else length // 2)] ^= 0x01  # the CRC fixed neither way
    png.write_bytes(bytes(data))
    report = read_provenance(png)
    assert report.state == "invalid" and report.failures, report
    result = CliRunner().invoke(app, ["verify", str(png), "--json"])
    assert result.exit_code == 1, result.output
    assert json.loads(result.output)["c2pa"]["state"] == "invalid"
    r = _client(tmp_path).post("/v1/content_provenance_checks", files={"file": ("s.png", bytes(data))})
    assert r.status_code == 200 and r.json()["results"][0]["validation_state"] == "invalid", r.text


@pytest.mark.parametrize("kind", ["mp4", "png"])
def test_a_file_with_the_longest_legal_name_is_signed_in_place(kind, tmp_path):
    """80 CJK characters are 240 bytes, a legal file name; a temporary name built on it is not."""
    (folder := tmp_path / "out").mkdir()
    path = folder / ("视" * 80 + f".{kind}")
    path = write_mp4(path, _frames(), fps=8) if kind == "mp4" else write_png(path, _frames()[0])
    sign_file(path, generation_id="video_long", model="zoetrope-mini")
    assert read_provenance(path).state == "trusted"
    assert [p.name for p in folder.iterdir()] == [path.name]  # no temporary left
