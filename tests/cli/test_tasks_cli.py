"""The creative-task commands on tiny random weights: files, lengths, kept footage and refused input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from zoetrope.backends.bundled import write_tiny_random_weights
from zoetrope.cli import app
from zoetrope.errors import InvalidRequest
from zoetrope.media import read_frames, write_mp4, write_png


@pytest.fixture(scope="module", autouse=True)
def tiny_weights(tmp_path_factory):
    path = write_tiny_random_weights(tmp_path_factory.mktemp("weights"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZOETROPE_WEIGHTS_DIR", str(path))
        yield path


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A 17-frame 64x64 clip of flat colours (survives H.264 nearly unchanged)."""
    frames = np.zeros((17, 64, 64, 3), np.uint8)
    frames[..., 0] = np.linspace(20, 220, 17, dtype=np.uint8)[:, None, None]
    return write_mp4(tmp_path_factory.mktemp("media") / "clip.mp4", frames, fps=8, crf=0)


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def frames_of(path):
    return read_frames(path).frames


def test_generate_streams_a_long_video_to_mp4(tmp_path):
    out = tmp_path / "long.mp4"
    result = invoke("generate", "a red ball", "--seconds", 6, "--size", "128x128", "-o", out)
    assert result.exit_code == 0, result.output
    assert frames_of(out).shape == (49, 128, 128, 3)
    assert not list(tmp_path.glob(".*.tmp"))


def test_animate_any_size_image(tmp_path):
    still = write_png(tmp_path / "still.png", np.full((50, 90, 3), 200, np.uint8))
    out = tmp_path / "a.mp4"
    result = invoke("animate", still, "it bounces", "--seconds", 1, "-o", out)
    assert result.exit_code == 0, result.output
    assert frames_of(out).shape == (9, 64, 112, 3)


@pytest.mark.parametrize("backward", [False, True])
def test_extend_keeps_the_original_footage(tmp_path, clip, backward):
    out = tmp_path / "e.mp4"
    result = invoke("extend", clip, "--seconds", 1, *(["--backward"] if backward else []), "-o", out)
    assert result.exit_code == 0, result.output
    frames, original = frames_of(out), frames_of(clip)
    assert len(frames) == 17 + 8
    kept = frames[-17:] if backward else frames[:17]
    assert np.abs(kept.astype(int) - original).mean() < 2.0


def test_loop_blend_remix_recut_write_the_expected_lengths(tmp_path, clip):
    cases = {
        "loop": (["loop", clip, "--seconds", 1], 17 + 8),
        "blend": (["blend", clip, clip, "--seconds", 1.5], 17 + 12 + 17),
        "remix": (["remix", clip, "a blue ball", "--strength", 0.5], 17),
        "remix-new-motion": (["remix", clip, "a blue ball moves left", "--strength-end", 1], 17),
        "recut": (["recut", clip, "--start", 0.5, "--end", 1.5, "--extend", 1], 8 + 8),
    }
    for name, (args, length) in cases.items():
        out = tmp_path / f"{name}.mp4"
        result = invoke(*args, "-o", out)
        assert result.exit_code == 0, (name, result.output)
        assert len(frames_of(out)) == length, name


def test_storyboard_from_toml_and_json(tmp_path):
    toml = tmp_path / "board.toml"
    toml.write_text('seconds = 3\nsize = "64x64"\n[[cards]]\nprompt = "a ball"\nstart = 0\n'
                    '[[cards]]\nprompt = "a star"\nstart = 1.5\n')
    result = invoke("storyboard", toml, "-o", tmp_path / "s.mp4")
    assert result.exit_code == 0, result.output
    assert len(frames_of(tmp_path / "s.mp4")) == 25
    board = tmp_path / "board.json"
    board.write_text(json.dumps({"cards": [{"prompt": "a ball", "start": 0}, {"prompt": "b", "start": 0}]}))
    result = invoke("storyboard", board, "-o", tmp_path / "bad.mp4")
    assert isinstance(result.exception, InvalidRequest) and result.exception.param == "cards[1].start"
    assert "overlap" in result.exception.message and not (tmp_path / "bad.mp4").exists()


@pytest.mark.parametrize(
    ("args", "param"),
    [
        (["remix", "CLIP", "x", "--strength", 1.5], "strength"),
        (["remix", "CLIP", "x", "--strength-end", 2], "strength_end"),
        (["extend", "CLIP", "--seconds", 59], "seconds"),
        (["recut", "CLIP", "--start", 1, "--end", 0.5], "end"),
    ],
)
def test_bad_input_names_the_field(tmp_path, clip, args, param):
    result = invoke(*[clip if a == "CLIP" else a for a in args], "-o", tmp_path / "x.mp4")
    assert isinstance(result.exception, InvalidRequest), result.output
    assert result.exception.param == param


def test_too_short_video_cannot_be_extended(tmp_path):
    short = write_mp4(tmp_path / "short.mp4", np.zeros((3, 64, 64, 3), np.uint8), fps=8)
    result = invoke("extend", short, "--backward", "-o", tmp_path / "x.mp4")
    assert isinstance(result.exception, InvalidRequest) and result.exception.param == "video"
    assert "at least" in result.exception.message
