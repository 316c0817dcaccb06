"""Signing a file the system then refuses to write (a full disk, a file size limit) raises the
system's error naming the file, and leaves the file as it was and no signed copy beside it."""

from __future__ import annotations

import errno
import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from zoetrope.media import write_mp4, write_png
from zoetrope.safety import read_provenance

REPO = Path(__file__).resolve().parents[2]
SIGN = """
import json, sys
from zoetrope.safety import sign_file
out, parent = sys.argv[1], sys.argv[2] or None
try:
    sign_file(out, generation_id="video_" + "0" * 32, model="zoetrope-mini", parent=parent)
except OSError as e:
    print(json.dumps({"errno": e.errno, "filename": e.filename, "text": str(e)}))
"""


def _frames(seed: int, t: int = 9) -> np.ndarray:
    return (np.random.default_rng(seed).random((t, 64, 64, 3)) * 255).astype(np.uint8)


@pytest.mark.parametrize("kind", ["mp4", "mp4 with a parent", "png"])
def test_signing_past_a_file_size_limit_names_the_file_and_leaves_it_unsigned(tmp_path, kind):
    folder = tmp_path / "out"
    folder.mkdir()
    parent = write_mp4(folder / "source.mp4", _frames(1), fps=8) if "parent" in kind else None
    if kind == "png":
        out = write_png(folder / "still.png", _frames(0)[0])
    else:
        out = write_mp4(folder / "clip.mp4", _frames(0), fps=8)
    before = out.read_bytes()
    env = {**os.environ, "PYTHONPATH": str(REPO), "ZOETROPE_DATA_DIR": str(tmp_path / "data")}
    # The signing identity is made first, so only the signed copy meets the limit.
    subprocess.run([sys.executable, "-c", "from zoetrope.safety.keys import signing_identity; signing_identity()"],
                   env=env, check=True, timeout=120)  # fmt: skip
    limit = len(before) + 1000  # a manifest is several kilobytes: the signed copy cannot fit

    def small_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() then fails with EFBIG, as on a full disk
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    run = subprocess.run(
        [sys.executable, "-c", SIGN, str(out), str(parent or "")],
        capture_output=True, text=True, env=env, preexec_fn=small_files, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0 and run.stdout.strip(), run.stderr
    refused = json.loads(run.stdout)
    assert refused["errno"] == errno.EFBIG and refused["filename"] == str(out), refused
    assert "File too large" in refused["text"] and str(out) in refused["text"], refused
    assert out.read_bytes() == before  # as it was: not half of a signed file
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in (out, parent) if p)  # no temporary
    assert read_provenance(out).state == "not_present"


def test_a_folder_that_refuses_the_signed_copy_names_the_file_not_a_hidden_temporary(tmp_path, monkeypatch):
    from zoetrope.safety import sign_file

    (folder := tmp_path / "out").mkdir()
    out = write_mp4(folder / "clip.mp4", _frames(0), fps=8)
    before = out.read_bytes()
    real_open = os.open

    def refusing_open(name, flags, *args, **kwargs):  # the folder became read-only after the video was written
        if flags & os.O_CREAT and Path(name).parent == folder:
            raise PermissionError(errno.EACCES, "Permission denied", name)
        return real_open(name, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refusing_open)
    with pytest.raises(OSError) as refused:
        sign_file(out, generation_id="video_abc", model="zoetrope-mini")
    monkeypatch.undo()
    assert refused.value.errno == errno.EACCES and refused.value.filename == str(out), refused.value
    assert out.read_bytes() == before and [p.name for p in folder.iterdir()] == ["clip.mp4"]


EDIT = """
import json, logging, sys
from zoetrope.jobs.finalize import sign
logging.basicConfig(level=logging.WARNING)
try:
    sign(sys.argv[1], "video_" + "0" * 32, "zoetrope-mini", parent=sys.argv[2], task="extend")
except OSError as e:
    print(json.dumps({"errno": e.errno, "filename": e.filename}))
"""


def test_an_edit_the_disk_refuses_is_not_retried_as_if_its_source_were_unreadable(tmp_path):
    """A full disk is the output's own failure: the job's signing step must not log it as
    "inputs not usable as C2PA ingredients" and sign again without the parent."""
    folder = tmp_path / "out"
    folder.mkdir()
    parent = write_mp4(folder / "source.mp4", _frames(1), fps=8)
    out = write_mp4(folder / "extended.mp4", _frames(0), fps=8)
    before = out.read_bytes()
    env = {**os.environ, "PYTHONPATH": str(REPO), "ZOETROPE_DATA_DIR": str(tmp_path / "data")}
    subprocess.run([sys.executable, "-c", "from zoetrope.safety.keys import signing_identity; signing_identity()"],
                   env=env, check=True, timeout=120)  # fmt: skip
    limit = len(before) + 1000

    def small_files() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    run = subprocess.run(
        [sys.executable, "-c", EDIT, str(out), str(parent)],
        capture_output=True, text=True, env=env, preexec_fn=small_files, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0 and run.stdout.strip(), run.stderr
    assert json.loads(run.stdout) == {"errno": errno.EFBIG, "filename": str(out)}
    assert "not usable as C2PA ingredients" not in run.stderr, run.stderr
    assert "Traceback" not in run.stderr, run.stderr
    assert out.read_bytes() == before
