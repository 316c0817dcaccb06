"""A ZOETROPE_DEVICE that names no device is refused in words: the setting, the values it takes and
how to write one; not the pattern the value was matched against."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from pydantic import ValidationError

from zoetrope.settings import Settings


@pytest.mark.parametrize("value", ["gpu", "cuda:", "cuda:x", "tpu"])
def test_a_device_the_setting_does_not_take_is_named_with_the_values_it_takes(value, tmp_path):
    env = {**os.environ, "ZOETROPE_DEVICE": value, "ZOETROPE_DATA_DIR": str(tmp_path)}
    run = subprocess.run(
        [sys.executable, "-m", "zoetrope", "worker"], env=env, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 2, run.stderr
    said = " ".join(run.stderr.split())
    assert "ZOETROPE_DEVICE" in said and repr(value) in said, said
    for accepted in ("auto", "cpu", "cuda", "cuda:N", "mps"):
        assert accepted in said, said
    assert "pattern" not in said and "^(" not in said, said
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize(
    ("value", "kept"), [("auto", "auto"), ("cpu", "cpu"), ("cuda", "cuda"), ("cuda:1", "cuda:1"), ("mps", "mps"),
                        (" CUDA:0 ", "cuda:0")],
)  # fmt: skip
def test_the_devices_the_setting_takes_are_taken(value, kept):
    assert Settings(device=value).device == kept


def test_a_bad_device_is_refused_naming_the_field():
    with pytest.raises(ValidationError) as e:
        Settings(device="gpu")
    assert e.value.errors()[0]["loc"] == ("device",)


@pytest.mark.parametrize(
    "args", [["generate", "a red ball rolls right"], ["image", "a blue star"], ["extend", "clip.mp4"],
             ["remix", "clip.mp4", "a green ball"], ["storyboard", "cards.toml"]],
)  # fmt: skip
def test_engine_commands_refuse_a_bad_device_before_torch_loads(args, tmp_path):
    # Torch takes seconds to load: a setting the engine cannot use is said before that, and before the
    # command looks at its input files.
    probe = (
        "import sys\nfrom zoetrope.cli import main\nsys.argv = ['zoetrope', *sys.argv[1:]]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    print(e.code, 'torch' in sys.modules)\n"
    )
    env = {**os.environ, "ZOETROPE_DEVICE": "gpu", "ZOETROPE_DATA_DIR": str(tmp_path)}
    run = subprocess.run([sys.executable, "-c", probe, *args, "-o", str(tmp_path / "out.mp4")], env=env,
                         capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert run.stdout.split() == ["2", "False"], run.stdout + run.stderr
    assert "ZOETROPE_DEVICE" in run.stderr and "'gpu'" in run.stderr, run.stderr
