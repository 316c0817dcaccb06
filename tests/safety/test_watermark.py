"""The invisible watermark: found after re-encode, resize and crop; absent from clean clips."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from zoetrope.safety import convcode, detect_watermark, embed_watermark, payload_for, visible_watermark
from zoetrope.safety.watermark import Z_FOUND

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from watermark import clip, crop, h264, resize  # noqa: E402  (the bench's own attacks)


@pytest.fixture(scope="module")
def released():
    """A 128x128 marked clip as Zoetrope releases it (H.264 CRF 18); rates over many clips: bench."""
    return h264(embed_watermark(clip(1000, 128), "video_test"), crf=18)


@pytest.mark.parametrize(
    "attack",
    [
        pytest.param(lambda v: v, id="released"),
        pytest.param(h264, id="reencode-crf28"),
        pytest.param(lambda v: h264(resize(v, 0.5)), id="half-size"),
        pytest.param(lambda v: h264(crop(v)), id="crop-10pct"),
        pytest.param(lambda v: h264(crop(v, scale_back=True)), id="crop-10pct-rescaled"),
    ],
)
def test_mark_survives_attacks_with_its_payload(released, attack):
    result = detect_watermark(attack(released))
    assert result.found and result.payload == payload_for("video_test").hex()
    assert 0 < result.confidence <= 1


@pytest.mark.parametrize(
    "attack",
    [pytest.param(h264, id="reencode-crf28"), pytest.param(lambda v: h264(crop(v)), id="crop-10pct")],
)
def test_mark_survives_attacks_at_64x64(attack):
    # 64x64 is the bundled model's default size; the mark is laid out relative to the frame.
    released = h264(embed_watermark(clip(1002, 64), "video_small"), crf=18)
    result = detect_watermark(attack(released))
    assert result.found and result.payload == payload_for("video_small").hex()


def test_mark_survives_a_resize_that_changes_the_aspect():
    frames = embed_watermark(clip(1003, 128)[:, :, 16:112], "video_wide")  # (T, 128, 96, 3)
    squeezed = np.stack(
        [np.asarray(Image.fromarray(f).resize((80, 48), Image.Resampling.BILINEAR)) for f in frames]
    )
    result = detect_watermark(h264(squeezed, crf=23))
    assert result.found and result.payload == payload_for("video_wide").hex()


def test_error_correction_fixes_flipped_bits_and_rejects_noise():
    rng = np.random.default_rng(0)
    payload = payload_for("video_code")
    coded = convcode.encode(payload)
    soft = (1 - 2 * coded) + rng.normal(0, 0.9, coded.size)
    soft[rng.choice(coded.size, 20, replace=False)] = 0  # erased: no bin carried them
    assert ((soft < 0) != coded)[soft != 0].sum() > 10  # a CRC alone would reject this
    assert convcode.decode(soft) == payload
    assert sum(convcode.decode(rng.normal(size=coded.size)) is not None for _ in range(200)) == 0


def test_mark_is_invisible_enough():
    original = clip(3, 128)
    marked = embed_watermark(original, "video_x")
    psnr = 10 * np.log10(255**2 / np.mean((marked.astype(float) - original) ** 2))
    assert psnr > 35


@pytest.mark.parametrize("seed", range(6))
def test_clean_clips_have_no_mark(seed):
    # The rate over 200 clean clips is in bench/results/watermark.json. A clean clip's sync peak
    # stays under the bar, so no payload is even read from it: the CRC is a second guard, not the only one.
    result = detect_watermark(h264(clip(seed, (32, 64, 128)[seed % 3]), crf=18))
    assert not result.found and result.z < Z_FOUND


def test_payload_may_be_hex_bytes_or_an_id():
    frames = clip(1, 128)
    by_id = embed_watermark(frames, "video_abc")
    assert np.array_equal(by_id, embed_watermark(frames, payload_for("video_abc")))
    assert np.array_equal(by_id, embed_watermark(frames, payload_for("video_abc").hex()))
    assert detect_watermark(by_id).payload == payload_for("video_abc").hex()


def test_visible_watermark_moves_and_keeps_shape():
    frames = clip(2, 128, frames=16)
    out = visible_watermark(frames)
    assert out.shape == frames.shape and out.dtype == np.uint8
    changed = [np.argwhere((out[t] != frames[t]).any(-1)).mean(0) for t in (0, 15)]
    assert np.abs(changed[0] - changed[1]).max() > 5  # the label is elsewhere in a later frame
