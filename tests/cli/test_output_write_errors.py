"""An `-o` the operating system refuses while the file is written (the disk or the file size limit
full, a name too long) is one line naming `-o` and the system's reason, and leaves no file behind."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from zoetrope.backends.bundled import write_tiny_random_weights
from zoetrope.cli import app
from zoetrope.errors import InvalidRequest
from zoetrope.media import write_mp4

REPO = Path(__file__).resolve().parents[2]
LIMIT = 30_000  # bytes: any file written past this fails with EFBIG, as on a full disk


def _small_files() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() then fails with EFBIG instead of killing
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    return write_tiny_random_weights(tmp_path_factory.mktemp("weights"))


@pytest.mark.parametrize(
    "args",
    [
        ["generate", "a red ball", "--seconds", "2", "-o", "{out}/ball.mp4"],
        ["image", "a red ball", "--size", "256x256", "-o", "{out}/ball.png"],
        ["loop", "{clip}", "--seconds", "4", "-o", "{out}/looped.mp4"],
    ],
    ids=["generate", "image", "loop"],
)
def test_an_output_the_system_refuses_to_write_is_one_line_and_leaves_nothing(tmp_path, weights, args):
    clip = tmp_path / "clip.mp4"
    write_mp4(clip, np.full((9, 64, 64, 3), 120, np.uint8), fps=8)
    out = tmp_path / "out"
    out.mkdir()
    run = subprocess.run(
        [sys.executable, "-m", "zoetrope", *(a.format(out=out, clip=clip) for a in args)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={
            **os.environ,
            "PYTHONPATH": str(REPO),
            "ZOETROPE_WEIGHTS_DIR": str(weights),
            "ZOETROPE_DATA_DIR": str(tmp_path / "data"),
        },
        preexec_fn=_small_files,
        timeout=300,
    )
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert "(--output)" in run.stderr and "File too large" in run.stderr, run.stderr
    assert list(out.iterdir()) == []


def test_an_output_name_too_long_for_the_system_is_named_not_a_traceback(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_mp4(tmp_path / "clip.mp4", np.full((9, 64, 64, 3), 120, np.uint8), fps=8)
    for args in (["generate", "a ball"], ["image", "a ball"], ["loop", tmp_path / "clip.mp4"]):
        name = "a" * 300 + (".png" if args[0] == "image" else ".mp4")
        result = CliRunner().invoke(app, [str(a) for a in [*args, "-o", name]])
        assert isinstance(result.exception, InvalidRequest), result.exception
        assert result.exception.param == "--output" and "too long" in result.exception.message
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]
