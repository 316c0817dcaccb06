"""The invisible watermark: found after re-encode, resize and crop; absent from clean clips."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from zoetrope.safety import convcode, detect_watermark, embed_watermark, payload_for, visible_watermark
from zoetrope.safety.watermark import SMALL_STRENGTH, STRENGTH, strip_watermark

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


# How 64 px files are marked: the low design now; before it, the wide design at 4.2, then at 5.5.
SMALL_MARKS = [
    pytest.param({}, id="now-low-at-6.0"),
    pytest.param({"design": "wide", "strength": STRENGTH}, id="released-before-wide-at-4.2"),
    pytest.param({"design": "wide", "strength": SMALL_STRENGTH}, id="released-before-wide-at-5.5"),
]


@pytest.mark.parametrize("mark", SMALL_MARKS)
@pytest.mark.parametrize(
    "attack",
    [
        pytest.param(lambda v: v, id="released"),
        pytest.param(h264, id="reencode-crf28"),
        pytest.param(lambda v: h264(crop(v)), id="crop-10pct"),
    ],
)
def test_mark_survives_attacks_at_64x64(attack, mark):
    # 64x64 is the bundled model's default size; the mark is laid out relative to the frame. Files
    # released in an earlier design or strength must still verify.
    released = h264(embed_watermark(clip(1002, 64), "video_small", **mark), crf=18)
    result = detect_watermark(attack(released))
    assert result.found and result.payload == payload_for("video_small").hex()
    assert result.design == mark.get("design", "low")


HALVED_SEEDS = [(16, 1002), (16, 1014), (16, 1026), (32, 1004)]


@pytest.mark.parametrize(("frames", "seed"), HALVED_SEEDS)
def test_halved_64x64_clip_is_found_after_crf28(frames, seed):
    # Halved, a 64x64 clip is 32x32, where H.264 at CRF 28 keeps little of a fine mark. In the low
    # design each of these clips was found in all of 27 or more tries, its uncut sync peak 5.8 or
    # higher (the bar is 4); in the wide design at 5.5, as 64 px clips were marked before, in none
    # of 5. The CRF 28 encode of so small a clip varies from run to run, so the rate over many
    # clips is the bench's, in bench/results/watermark.json.
    released = h264(embed_watermark(clip(seed, 64, frames), f"video_half_{seed}"), crf=18)
    result = detect_watermark(h264(resize(released, 0.5)))
    assert result.found and result.payload == payload_for(f"video_half_{seed}").hex()
    assert result.design == "low"


@pytest.mark.parametrize("seed", [3005, 3016, 3020])
def test_halved_64x64_clip_with_moving_edges_is_read_after_crf28(seed):
    # Clips whose moving discs' outlines swamped the mark's bins once halved to 32x32 and re-encoded
    # at CRF 28: none was read in 9 tries from the time-averaged luma less its blur, each in all 9
    # from each frame's residual clipped to its own spread before the frames are averaged.
    released = h264(embed_watermark(clip(seed, 64, 16), f"video_half_{seed}"), crf=18)
    result = detect_watermark(h264(resize(released, 0.5)))
    assert result.found and result.payload == payload_for(f"video_half_{seed}").hex()
    assert result.design == "low" and result.kept == (1.0, 1.0)


@pytest.mark.parametrize("mark", SMALL_MARKS)
def test_strip_removes_a_64x64_mark_in_any_design_and_strength(mark):
    # The frame size does not say how a 64 px file was marked (wide at 4.2 or 5.5 before, low now):
    # strip reads it from the frames. With the right one, the original comes back exactly.
    original = clip(2006, 64)
    stripped, payload = strip_watermark(embed_watermark(original, "video_strip", **mark))
    assert payload == payload_for("video_strip").hex()
    assert np.array_equal(stripped, original)


def test_a_64x64_file_released_at_the_old_strength_verifies_and_strips():
    original = clip(1002, 64)
    released = h264(embed_watermark(original, "video_old", design="wide", strength=STRENGTH), crf=18)
    assert detect_watermark(released).payload == payload_for("video_old").hex()
    stripped, payload = strip_watermark(released)
    assert payload == payload_for("video_old").hex() and not detect_watermark(stripped).found
    # Against the clean clip released the same way, most of what differed was the mark.
    reference = h264(original, crf=18).astype(float)
    before, after = (np.sqrt(np.mean((v - reference) ** 2)) for v in (released, stripped))
    assert after < 0.75 * before


def test_mark_survives_a_resize_that_changes_the_aspect():
    frames = embed_watermark(clip(1003, 128)[:, :, 16:112], "video_wide")  # (T, 128, 96, 3)
    squeezed = np.stack(
        [np.asarray(Image.fromarray(f).resize((80, 48), Image.Resampling.BILINEAR)) for f in frames]
    )
    result = detect_watermark(h264(squeezed, crf=23))
    assert result.found and result.payload == payload_for("video_wide").hex()


def test_list_decoding_recovers_a_payload_whose_best_path_fails_the_crc():
    payload = payload_for("video_list")
    coded = convcode.encode(payload)
    soft = (1 - 2 * coded) + np.random.default_rng(36).normal(0, 1.2, coded.size)
    assert convcode.decode(soft, list_size=1) is None  # the single best path has wrong bits
    assert convcode.decode(soft) == payload


def test_error_correction_fixes_flipped_bits_and_rejects_noise():
    rng = np.random.default_rng(0)
    payload = payload_for("video_code")
    coded = convcode.encode(payload)
    soft = (1 - 2 * coded) + rng.normal(0, 0.9, coded.size)
    soft[rng.choice(coded.size, 20, replace=False)] = 0  # erased: no bin carried them
    assert ((soft < 0) != coded)[soft != 0].sum() > 10  # a CRC alone would reject this
    assert convcode.decode(soft) == payload
    assert sum(convcode.decode(rng.normal(size=coded.size)) is not None for _ in range(200)) == 0


@pytest.mark.parametrize(("size", "floor"), [(128, 35.0), (64, 32.0)])
def test_mark_is_invisible_enough(size, floor):
    # Frames up to 64 px on the shorter side carry the low design at LOW_STRENGTH: 32.7 dB, not 35.8.
    original = clip(3, size)
    marked = embed_watermark(original, "video_x")
    psnr = 10 * np.log10(255**2 / np.mean((marked.astype(float) - original) ** 2))
    assert floor < psnr < floor + 1.5


@pytest.mark.parametrize("seed", range(6))
def test_clean_clips_have_no_mark(seed):
    # The rate over 300 clean clips per size is in bench/results/watermark.json. A clean clip's sync
    # peaks mostly stay under the bars, so no payload is even read from it; where one crosses (a
    # 32 px clip here peaked at 5.81 against the wide bar's 5.8 in one full run, 5.66 alone), the
    # payload's CRC refuses what it reads: the bench counts such reads (`clean_payload_reads`). How many
    # candidates cross depends on the run's float rounding (3 in one full run, 0 alone), so the test holds
    # the promise itself: nothing found, no payload.
    result = detect_watermark(h264(clip(seed, (32, 64, 128)[seed % 3]), crf=18))
    assert not result.found and result.payload is None


def test_an_unknown_design_is_refused_by_name():
    with pytest.raises(ValueError, match="design must be one of wide, low, got 'coarse'"):
        embed_watermark(clip(1, 64), "video_x", design="coarse")


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
