"""Manifests this installation did not sign, and manifests damaged inside their own structure."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from zoetrope.cli import app
from zoetrope.media import write_mp4
from zoetrope.safety import read_provenance, sign_file, verify
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
