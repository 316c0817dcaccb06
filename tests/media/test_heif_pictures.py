"""A HEIC or AVIF picture (an ISO media file, as an MP4 is) is refused as a picture this server does
not read, naming the field and the formats to send, not read as a one-frame video."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, features
from typer.testing import CliRunner

from zoetrope.cli import app
from zoetrope.errors import InvalidMedia
from zoetrope.media import probe, read_frames, read_video

pytestmark = pytest.mark.skipif(not features.check("avif"), reason="this Pillow cannot write AVIF")


def _avif() -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.random.default_rng(2).integers(0, 255, (64, 48, 3), dtype=np.uint8)).save(out, "AVIF")
    return out.getvalue()


@pytest.mark.parametrize("reader", [read_frames, probe, lambda source, param: read_video(source, 8, param=param)])
def test_an_avif_picture_is_refused_naming_the_field_and_what_to_send(reader):
    with pytest.raises(InvalidMedia) as info:
        reader(_avif(), param="input_reference")
    assert info.value.param == "input_reference"
    assert "HEIC or AVIF" in info.value.message and "PNG, JPEG or WebP" in info.value.message, info.value.message


def test_verify_names_an_avif_picture(tmp_path):
    (tmp_path / "photo.avif").write_bytes(_avif())
    result = CliRunner().invoke(app, ["verify", str(tmp_path / "photo.avif"), "--json"])
    assert result.exit_code == 2, result.output
    assert "HEIC or AVIF" in result.output, result.output
