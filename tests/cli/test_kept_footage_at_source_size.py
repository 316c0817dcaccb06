"""Loop, blend and recut keep a source that is not the model's size as it was: the new footage is
generated at the model's size and rescaled, the source's own frames are written around it."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from zoetrope.cli import app
from zoetrope.media import read_frames, write_mp4

pytestmark = pytest.mark.usefixtures("tiny_weights")


@pytest.fixture(scope="module")
def board():
    """9 frames of 128x128 (twice the model's 64x64): a checkerboard of 4-pixel squares, which a trip
    through 64x64 blurs to 17 dB while the MP4 encoder and the watermark keep it at 23.5 dB, over a
    changing red."""
    yy, xx = np.mgrid[:128, :128]
    frames = np.empty((9, 128, 128, 3), np.uint8)
    frames[...] = ((yy // 4 + xx // 4) % 2 * 160 + 40).astype(np.uint8)[None, :, :, None]
    frames[..., 0] = np.linspace(30, 200, 9, dtype=np.uint8)[:, None, None]
    return frames


@pytest.fixture(scope="module")
def clip(tmp_path_factory, board):
    return write_mp4(tmp_path_factory.mktemp("media") / "board.mp4", board, fps=8, crf=0)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return 10 * np.log10(255**2 / np.mean((a.astype(float) - b.astype(float)) ** 2))


@pytest.mark.parametrize(
    ("args", "frames", "kept"),
    [
        (["recut", "--start", 0, "--end", 1.125], 9, slice(0, 9)),  # a trim alone: nothing generated
        (["loop", "--seconds", 0.5], 9 + 4, slice(0, 9)),
        (["recut", "--start", 0, "--end", 1.125, "--extend", 0.5], 9 + 4, slice(0, 9)),
    ],
)
def test_the_source_comes_out_at_its_own_size_unchanged(tmp_path, clip, board, args, frames, kept):
    out = tmp_path / "out.mp4"
    command, *options = args
    result = CliRunner().invoke(app, [command, str(clip), *map(str, options), "-o", str(out)])
    assert result.exit_code == 0, result.output
    made = read_frames(out).frames
    assert made.shape == (frames, 128, 128, 3)
    assert psnr(made[kept], board) > 21  # 17.3 dB when it was rescaled through the model's 64x64


def test_blend_keeps_both_clips(tmp_path, clip, board):
    out = tmp_path / "out.mp4"
    result = CliRunner().invoke(app, ["blend", str(clip), str(clip), "--seconds", "0.5", "-o", str(out)])
    assert result.exit_code == 0, result.output
    made = read_frames(out).frames
    assert made.shape == (9 + 4 + 9, 128, 128, 3)
    assert psnr(made[:9], board) > 21 and psnr(made[-9:], board) > 21
