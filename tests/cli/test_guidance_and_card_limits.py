"""Out-of-range tuning and storyboards refused before any frame is made, naming the field and the fix;
the `wrote` line counts a single frame as one."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from zoetrope.cli import app
from zoetrope.errors import InvalidRequest
from zoetrope.media import write_mp4

pytestmark = pytest.mark.usefixtures("tiny_weights")


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    frames = np.zeros((9, 64, 64, 3), np.uint8)
    frames[..., 0] = np.linspace(30, 200, 9, dtype=np.uint8)[:, None, None]
    return write_mp4(tmp_path_factory.mktemp("media") / "clip.mp4", frames, fps=8, crf=0)


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.mark.parametrize("command", [["generate", "a red ball", "--seconds", 1], ["loop", "CLIP", "--seconds", 0.5]])
def test_a_guidance_the_sampler_overflows_on_is_refused(tmp_path, clip, command):
    """1e30 made a black video: the guided velocity overflows float32."""
    out = tmp_path / "out.mp4"
    args = [clip if a == "CLIP" else a for a in command]
    result = invoke(*args, "--guidance", "1e30", "-o", out)
    assert isinstance(result.exception, InvalidRequest), result.output
    assert result.exception.param == "--guidance"
    assert "from 0 to 100" in result.exception.message and "try 4" in result.exception.message
    assert not out.exists()


def test_a_storyboard_of_more_cards_than_seconds_is_refused(tmp_path):
    board = tmp_path / "board.toml"
    board.write_text("seconds = 60\n" + "".join(f'[[cards]]\nprompt = "shot {i}"\nstart = {i / 8}\n' for i in range(480)))
    out = tmp_path / "out.mp4"
    result = invoke("storyboard", board, "-o", out)
    assert isinstance(result.exception, InvalidRequest), result.output
    assert result.exception.param == "cards"
    assert "at most 60 cards" in result.exception.message and "merge cards" in result.exception.message
    assert not out.exists()


def test_the_wrote_line_counts_one_frame_as_one(tmp_path, clip):
    out = tmp_path / "one.mp4"
    result = invoke("recut", clip, "--start", 0, "--end", 0.125, "-o", out)
    assert result.exit_code == 0, result.output
    assert f"wrote {out} (1 frame, 0.12 s" in result.output.replace("\n", "")
