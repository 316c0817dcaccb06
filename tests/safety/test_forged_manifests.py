"""Manifests this installation did not sign, and manifests damaged inside their own structure."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from zoetrope.cli import app
from zoetrope.media import write_mp4
from zoetrope.safety import embed_watermark, read_provenance, sign_file, verify
from zoetrope.safety.provenance import GENERATION_ASSERTION, TRAINED_ALGORITHMIC_MEDIA
from zoetrope.settings import get_settings

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_api_routes import _client  # noqa: E402
from test_verify import _released, clip  # noqa: E402


def _sign_elsewhere(path, tmp_path, monkeypatch, generation_id):
    """Sign `path` as another data directory would: its own root, made on its first signing."""
    monkeypatch.setenv("ZOETROPE_DATA_DIR", str(tmp_path / "forger"))
    get_settings.cache_clear()
    sign_file(path, generation_id=generation_id, model="zoetrope-mini")
    monkeypatch.setenv("ZOETROPE_DATA_DIR", str(tmp_path / "zoetrope-data"))
    get_settings.cache_clear()


def test_a_manifest_signed_outside_this_installation_names_no_record_and_fails_verify(tmp_path, monkeypatch):
    ours = _released(tmp_path, "video_real")  # our root exists: we signed a real generation
    forged = write_mp4(
        tmp_path / "forged.mp4", clip(7, 64), fps=8
    )  # no watermark, and a manifest claiming the real generation
    _sign_elsewhere(forged, tmp_path, monkeypatch, "video_real")

    report = read_provenance(forged)
    assert (
        report.state == "valid" and "signingCredential.untrusted" in report.failures and report.impersonates
    )
    asked = []
    checked = verify(forged, lambda key: asked.append(key) or {"id": key, "prompt": "private"})
    assert checked.record is None and asked == []  # the real generation's record is never shown
    result = CliRunner().invoke(app, ["verify", str(forged), "--json"])
    body = json.loads(result.output)
    assert result.exit_code == 1 and body["c2pa"]["impersonates"] is True
    r = _client(tmp_path).post(
        "/v1/content_provenance_checks", files={"file": ("f.mp4", forged.read_bytes())}
    )
    assert r.status_code == 200 and r.json()["results"][0]["outcome"] == "not_detected"
    assert r.json()["results"][0]["validation_state"] == "valid"
    # Our own signature still reads as ours.
    assert read_provenance(ours).state == "trusted" and not read_provenance(ours).impersonates


def test_a_manifest_damaged_in_its_own_references_reads_invalid_everywhere(tmp_path):
    path = _released(tmp_path)
    data = path.read_bytes()
    client: TestClient = _client(tmp_path)
    at = data.find(b"jumbf=c2pa.assertions")
    assert at > 0
    seen = 0
    while at > 0:  # each hashed reference to an assertion, with its path broken ("c2pa/assertions")
        damaged = bytearray(data)
        damaged[at + len("jumbf=c2pa")] ^= 0x01
        path.write_bytes(bytes(damaged))
        report = read_provenance(path)
        assert report.state == "invalid" and report.failures, report
        result = CliRunner().invoke(app, ["verify", str(path), "--json"])
        assert result.exit_code == 1 and json.loads(result.output)["c2pa"]["state"] == "invalid"
        r = client.post("/v1/content_provenance_checks", files={"file": ("d.mp4", bytes(damaged))})
        assert r.status_code == 200 and r.json()["results"][0]["validation_state"] == "invalid"
        seen += 1
        at = data.find(b"jumbf=c2pa.assertions", at + 1)
    assert seen >= 2


def test_verify_json_answers_in_json_when_the_file_cannot_be_read(tmp_path):
    cases = {"missing.mp4": None, "notes.txt": b"plain text, not media", "empty.mp4": b""}
    for name, content in cases.items():
        path = tmp_path / name
        if content is not None:
            path.write_bytes(content)
        result = CliRunner().invoke(app, ["verify", str(path), "--json"])
        assert result.exit_code == 2, (name, result.output)
        error = json.loads(result.stdout)["error"]
        assert error["param"] == "file" and name in error["message"], error


def _sign_as(path, manifest, identity):
    """Sign `path` with any manifest at all, as a forger's own tools would."""
    from c2pa import Builder, C2paSignerInfo, C2paSigningAlg, Signer

    info = C2paSignerInfo(C2paSigningAlg.ES256, identity.chain_pem, identity.key_pem, None)
    signed = path.with_name("signed-" + path.name)
    with Signer.from_info(info) as signer, Builder(manifest) as builder:
        with open(path, "rb") as src, open(signed, "w+b") as dst:
            builder.sign(signer, "video/mp4", src, dst)
    signed.replace(path)


def _forger(tmp_path):
    """A CA of the forger's own making, with our names on it: anyone can make one."""
    from zoetrope.safety.keys import create_local_ca

    return create_local_ca(tmp_path / "forger-ca")


@pytest.mark.parametrize(
    "generation",
    [{"model": "zoetrope-mini"}, {"model": "zoetrope-mini", "generation_id": ""}, None],
    ids=["no-id", "empty-id", "no-assertion"],
)
def test_a_zoetrope_claim_without_a_generation_id_signed_elsewhere_impersonates(tmp_path, generation):
    _released(tmp_path, "video_real")  # this installation has its root
    forged = write_mp4(tmp_path / "forged.mp4", clip(8, 64), fps=8)
    action = {"action": "c2pa.created", "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA,
              "softwareAgent": {"name": "Zoetrope zoetrope-mini"}}  # fmt: skip
    assertions = [{"label": "c2pa.actions.v2", "data": {"actions": [action]}}]
    if generation is not None:
        assertions.append({"label": GENERATION_ASSERTION, "data": generation})
    manifest = {"claim_generator_info": [{"name": "Zoetrope", "version": "1"}], "assertions": assertions}
    _sign_as(forged, manifest, _forger(tmp_path))

    report = read_provenance(forged)
    assert report.state == "valid" and report.issuer == "Zoetrope" and report.impersonates
    result = CliRunner().invoke(app, ["verify", str(forged), "--json"])
    body = json.loads(result.output)
    assert result.exit_code == 1 and body["c2pa"]["impersonates"] is True, result.output
    assert any("did not sign" in p for p in body["problems"])
    r = _client(tmp_path).post(
        "/v1/content_provenance_checks", files={"file": ("f.mp4", forged.read_bytes())}
    )
    assert r.status_code == 200 and r.json()["results"][0]["outcome"] == "not_detected", r.text
    assert r.json()["c2pa"]["impersonates"] is True and r.json()["problems"]


def test_a_manifest_signed_elsewhere_that_makes_no_zoetrope_claim_is_not_called_a_forgery(
    tmp_path, monkeypatch
):
    from zoetrope.safety import keys

    _released(tmp_path, "video_real")
    theirs = write_mp4(tmp_path / "theirs.mp4", clip(9, 64), fps=8)
    action = {"action": "c2pa.created", "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA,
              "softwareAgent": {"name": "Other Generator"}}  # fmt: skip
    manifest = {"claim_generator_info": [{"name": "Other"}],
                "assertions": [{"label": "c2pa.actions.v2", "data": {"actions": [action]}}]}  # fmt: skip
    monkeypatch.setattr(keys, "ISSUER", "Other Studio")  # another maker's CA, with its own names
    _sign_as(theirs, manifest, keys.create_local_ca(tmp_path / "other-ca"))
    report = read_provenance(theirs)
    assert report.state == "valid" and not report.claims_zoetrope and not report.impersonates
    assert CliRunner().invoke(app, ["verify", str(theirs)]).exit_code == 0


def _stripped(path):
    """`path` with its manifest box renamed `free`: the media bytes where they were, unsigned."""
    data = bytearray(path.read_bytes())
    at = data.index(b"uuid")
    data[at : at + 4] = b"free"
    path.write_bytes(bytes(data))
    return path


def test_our_own_key_naming_another_generation_than_the_watermark_fails_everywhere(tmp_path):
    # Clip B's pixels (its watermark) under a manifest our own key signed naming generation A: a
    # mix-up, or an insider. The CLI fails it; so must the API and the studio.
    _released(tmp_path, "video_a")
    (tmp_path / "b").mkdir()
    b = _stripped(_released(tmp_path / "b", "video_b"))
    sign_file(b, generation_id="video_a", model="zoetrope-mini")

    result = CliRunner().invoke(app, ["verify", str(b), "--json"])
    assert result.exit_code == 1, result.output
    r = _client(tmp_path).post("/v1/content_provenance_checks", files={"file": ("b.mp4", b.read_bytes())})
    body = r.json()
    assert r.status_code == 200 and body["results"][0]["outcome"] == "not_detected", r.text
    assert body["c2pa"]["state"] == "trusted" and body["watermark"]["matches_manifest"] is False
    assert body["problems"] == ["the watermark does not match the manifest's generation id"]
    shown = _studio_view(body)
    assert "Does not check out" in shown and "names another generation than the manifest" in shown
    assert "Signed by Zoetrope" not in shown


def _studio_view(body: dict) -> str:
    """What the studio's Verify page shows for an API answer: its own script, run by Node."""
    import shutil
    import subprocess

    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed: the studio's script cannot be run here")
    script = Path(__file__).resolve().parents[2] / "zoetrope/web/static/verify.js"
    run = f"{script.read_text()}\nprocess.stdout.write(JSON.stringify(VerifyView.view({json.dumps(body)})));"
    shown = subprocess.run([node, "-e", run], capture_output=True, text=True, timeout=60, check=True).stdout
    return json.dumps(json.loads(shown))


def test_an_edit_of_a_tampered_or_forged_file_does_not_read_as_a_clean_chain(tmp_path):
    tampered = _released(tmp_path, "video_src")
    data = bytearray(tampered.read_bytes())
    data[len(data) - 100] ^= 0x01  # a byte of the media, after signing
    tampered.write_bytes(bytes(data))
    edit = write_mp4(tmp_path / "edit.mp4", clip(10, 64), fps=8)
    sign_file(edit, generation_id="video_edit", model="zoetrope-mini", parent=tampered)
    # And an edit of that edit: the altered source two steps back still shows.
    again = write_mp4(tmp_path / "again.mp4", clip(11, 64), fps=8)
    sign_file(again, generation_id="video_again", model="zoetrope-mini", parent=edit)

    for path, depth in ((edit, 1), (again, 2)):
        report = read_provenance(path)
        assert report.state == "trusted" and [(i.title, i.depth) for i in report.altered_sources] == [
            ("out.mp4", depth)
        ]
        result = CliRunner().invoke(app, ["verify", str(path), "--json"])
        body = json.loads(result.output)
        assert result.exit_code == 1 and any("had been altered" in p for p in body["problems"]), result.output
        r = _client(tmp_path).post(
            "/v1/content_provenance_checks", files={"file": ("e.mp4", path.read_bytes())}
        )
        assert r.json()["results"][0]["outcome"] == "not_detected", r.text
        assert "assertion.bmffHash.mismatch" in r.json()["c2pa"]["ingredients"][depth - 1]["failures"]
        assert "had been altered" in _studio_view(r.json())
    text = CliRunner().invoke(app, ["verify", str(edit)]).output
    assert "the source it was made from (out.mp4) had been altered" in text

    # A source forged under a CA of our names: the edit names it as such.
    forged = write_mp4(tmp_path / "forged.mp4", clip(12, 64), fps=8)
    sign_file(forged, generation_id="video_src", model="zoetrope-mini", identity=_forger(tmp_path))
    edit = write_mp4(tmp_path / "edit2.mp4", clip(13, 64), fps=8)
    sign_file(edit, generation_id="video_edit2", model="zoetrope-mini", parent=forged)
    result = CliRunner().invoke(app, ["verify", str(edit)])
    assert result.exit_code == 1 and "(forged.mp4) claims to be Zoetrope's" in result.output, result.output
    # An edit of our own file is a clean chain.
    (tmp_path / "ours").mkdir()
    ours = _released(tmp_path / "ours", "video_ours")
    edit = write_mp4(tmp_path / "edit3.mp4", clip(14, 64), fps=8)
    sign_file(edit, generation_id="video_edit3", model="zoetrope-mini", parent=ours)
    assert CliRunner().invoke(app, ["verify", str(edit)]).exit_code == 0


def test_a_record_found_through_the_watermark_alone_says_no_signature_confirms_it(tmp_path):
    frames = embed_watermark(clip(1000, 128), "video_wm")
    path = write_mp4(tmp_path / "unsigned.mp4", frames, fps=8)
    report = verify(path, lambda key: {"id": "video_wm", "status": "completed", "model": "m", "prompt": "p"})
    body = report.to_json()
    assert body["record_found_by"] == "watermark" and body["problems"] == []
    assert body["notes"] and "no signature confirms" in body["notes"][0] and "public" in body["notes"][0]
    signed = verify(_released(tmp_path, "video_wm"), lambda key: {"id": key}).to_json()
    assert signed["record_found_by"] == "manifest" and signed["notes"] == []
