"""`animate` picks the model's size nearest the still's aspect as the API does: a landscape still and
the same still turned upright get sizes that are each other's mirror."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from zoetrope.cli import app
from zoetrope.media import read_frames, write_png

pytestmark = pytest.mark.usefixtures("tiny_weights")


@pytest.mark.parametrize(("width", "height", "made"), [(80, 60, (64, 112)), (60, 80, (112, 64))])
def test_a_4_3_still_and_a_3_4_still_are_made_at_mirrored_sizes(tmp_path, width, height, made):
    # 4:3 was made square and 3:4 vertical; the API makes both at 7:4 / 4:7 (`size_for_source`)
    still = write_png(tmp_path / "still.png", np.full((height, width, 3), 120, np.uint8))
    out = tmp_path / "a.mp4"
    result = CliRunner().invoke(app, ["animate", str(still), "it turns", "--seconds", "0.25", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert read_frames(out).frames.shape[1:3] == made
