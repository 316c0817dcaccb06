"""`generate` and `image` say how the model reads a prompt, where weights read prompts as world scenes."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from zoetrope.cli import app


@pytest.fixture
def reading_weights(tiny_weights, tmp_path, monkeypatch):
    """The tiny weights with `plain_prompts` on, as the bundled config has it."""
    path = shutil.copytree(tiny_weights, tmp_path / "reading")
    meta = json.loads((path / "config.json").read_text())
    (path / "config.json").write_text(json.dumps({**meta, "plain_prompts": True}))
    monkeypatch.setenv("ZOETROPE_WEIGHTS_DIR", str(path))
    return path


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_an_image_prompt_in_other_words_shows_the_wording_the_model_is_given(reading_weights, tmp_path):
    result = invoke("image", "a ball colored violet whirling around", "-o", tmp_path / "a.png")
    assert result.exit_code == 0, result.output
    assert "the model reads it as: a purple circle spins" in result.output
    assert (tmp_path / "a.png").is_file()


def test_a_video_prompt_that_is_no_world_scene_goes_as_typed_and_says_nothing(reading_weights, tmp_path):
    result = invoke("generate", "a cat on a sofa", "--seconds", 1, "-o", tmp_path / "cat.mp4")
    assert result.exit_code == 0, result.output
    assert "reads it as" not in result.output and (tmp_path / "cat.mp4").is_file()


def test_weights_that_take_prompts_as_written_say_nothing(tiny_weights, tmp_path):
    result = invoke("image", "a ball colored violet whirling around", "-o", tmp_path / "b.png")
    assert result.exit_code == 0, result.output
    assert "reads it as" not in result.output
