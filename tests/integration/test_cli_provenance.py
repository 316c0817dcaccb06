"""`zoetrope generate` releases files like the API does: watermark, C2PA, and a local record that
`zoetrope verify` finds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# A few steps of tiny random weights: the test is about release and records, not the picture. At
# 128x128 the invisible mark decodes reliably (64x64 is its documented weak spot).
FAST = ("--steps", "2", "--size", "128x128")
pytestmark = pytest.mark.timeout(900)


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    from zoetrope.backends.bundled import write_tiny_random_weights

    weights = write_tiny_random_weights(tmp_path_factory.mktemp("weights"))
    data = tmp_path_factory.mktemp("data")
    return {
        **os.environ,
        "ZOETROPE_DATA_DIR": str(data),
        "ZOETROPE_WEIGHTS_DIR": str(weights),
        "PYTHONPATH": str(REPO),
    }


def _zoetrope(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "zoetrope", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=800,
    )


def test_generated_video_verifies_and_finds_its_local_record(env, tmp_path):
    out = tmp_path / "out.mp4"
    made = _zoetrope(env, "generate", "a red ball bounces", "--seconds", "1", *FAST, "-o", str(out))
    assert made.returncode == 0, made.stdout + made.stderr
    report = _zoetrope(env, "verify", str(out), "--json")
    assert report.returncode == 0, report.stdout + report.stderr
    r = json.loads(report.stdout)
    assert r["c2pa"]["state"] == "trusted" and r["c2pa"]["actions"] == ["c2pa.created"]
    video_id = r["c2pa"]["generation_id"]
    assert r["watermark"]["found"] and r["watermark"]["matches_manifest"] is True
    assert r["record"]["id"] == video_id and r["record"]["prompt"] == "a red ball bounces"
    assert video_id in made.stdout
    assert out.stat().st_mode & 0o777 == 0o666 & ~_umask()  # readable as any file the user makes, not 0600


def test_generated_image_is_a_signed_png_with_a_record(env, tmp_path):
    made = _zoetrope(env, "image", "a blue cube", *FAST, "-o", str(tmp_path / "still.png"))
    assert made.returncode == 0, made.stdout + made.stderr
    r = json.loads(_zoetrope(env, "verify", str(tmp_path / "still.png"), "--json").stdout)
    assert r["c2pa"]["valid"] and r["record"]["id"] == r["c2pa"]["generation_id"]
    assert (tmp_path / "still.png").stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_blocked_prompt_writes_nothing(env, tmp_path):
    made = _zoetrope(env, "generate", "a girl cutting her wrists", "-o", str(tmp_path / "x.mp4"))
    assert made.returncode != 0 and "blocked" in (made.stdout + made.stderr)
    assert not (tmp_path / "x.mp4").exists()
