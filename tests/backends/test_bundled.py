"""The bundled backend's machinery, driven through tiny random weights (fast, meaningless pixels)."""

import numpy as np
import pytest

from zoetrope.backends.base import Backend, Cancelled, GenerationRequest
from zoetrope.backends.bundled import BundledBackend, frames_for, write_tiny_random_weights
from zoetrope.errors import InvalidRequest, ModelUnavailable, UnsupportedByBackend


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    return BundledBackend(write_tiny_random_weights(tmp_path_factory.mktemp("weights")))


def _run(backend, **kw):
    progress = []
    chunks = list(backend.generate(GenerationRequest(**kw), lambda f, m: progress.append(f)))
    return np.concatenate(chunks), progress


def test_is_a_backend(backend):
    assert isinstance(backend, Backend)
    assert (64, 64) in backend.capabilities.sizes and backend.capabilities.fps == 8


def test_video_has_the_asked_duration_in_chunks(backend):
    frames, progress = _run(backend, prompt="a red circle moves right", width=64, height=64, seconds=4, seed=1)
    assert frames.shape == (32, 64, 64, 3)  # 4 s at 8 fps: the 33 frames made, less the one past 4 s
    assert frames.dtype == np.uint8
    assert progress[-1] == 1.0 and progress == sorted(progress)


def test_long_video_is_made_window_by_window(backend):
    frames, progress = _run(backend, prompt="a ball", width=112, height=64, seconds=10, seed=1)
    assert frames.shape == (80, 64, 112, 3)
    assert len(progress) >= 5


def test_a_duration_shorter_than_the_models_step_is_delivered_as_asked(backend):
    for seconds, count in ((0.125, 1), (0.2, 2), (0.5, 4), (1, 8)):  # the model makes 5 or 9 frames for these
        frames, _ = _run(backend, prompt="a ball", width=64, height=64, seconds=seconds, seed=1, steps=1)
        assert len(frames) == count, seconds


def test_a_storyboard_card_near_the_end_of_an_odd_duration_gets_its_frames(backend):
    """4.2 s is 34 frames: the model makes 37 (1 + 4k, rounded up) and delivers 34, so a card at 4.1 s
    (frame 33) has a frame of its own."""
    from zoetrope.backends.base import StoryCard

    frames, _ = _run(backend, prompt="a", width=64, height=64, seconds=4.2, task="storyboard",
                     cards=(StoryCard("a red ball", 0.0), StoryCard("a blue star", 4.1)))
    assert frames.shape[0] == 34 and frames_for(4.2) == 37


def test_image_is_one_frame(backend):
    frames, _ = _run(backend, prompt="a star", width=64, height=112, seconds=0, task="t2i")
    assert frames.shape == (1, 112, 64, 3)


def test_same_seed_same_video(backend):
    a, _ = _run(backend, prompt="a ball", width=64, height=64, seconds=1, seed=7)
    b, _ = _run(backend, prompt="a ball", width=64, height=64, seconds=1, seed=7)
    assert np.array_equal(a, b)


def test_image_to_video_keeps_the_still_as_first_frame(backend):
    still = np.random.default_rng(0).integers(0, 255, (1, 64, 64, 3), dtype=np.uint8)
    frames, _ = _run(backend, prompt="it moves", width=64, height=64, seconds=2, task="i2v", source=still)
    assert frames.shape[0] == 16 and np.array_equal(frames[0], still[0])


def test_extend_and_remix_take_a_source_video(backend):
    source = np.random.default_rng(0).integers(0, 255, (17, 64, 64, 3), dtype=np.uint8)
    ext, _ = _run(backend, prompt="more", width=64, height=64, seconds=2, task="extend", source=source)
    assert ext.shape[0] == frames_for(2) - 1
    rem, _ = _run(backend, prompt="other", width=64, height=64, seconds=2, task="remix", source=source, strength=0.5)
    assert rem.shape == source.shape


def test_refuses_sizes_it_cannot_make_and_tasks_missing_their_input(backend):
    with pytest.raises(UnsupportedByBackend, match="64x64") as e:
        _run(backend, prompt="x", width=100, height=40)
    assert e.value.param == "size"
    with pytest.raises(InvalidRequest, match="source image") as e:
        _run(backend, prompt="x", width=64, height=64, task="i2v")
    assert e.value.param == "input_reference"


@pytest.mark.parametrize(
    ("task", "source", "fix"),
    [
        ("i2v", np.zeros((1, 64, 64, 3), np.float32), "uint8"),
        ("extend", np.zeros((17, 64, 64, 4), np.uint8), "(T, H, W, 3)"),
        ("remix", np.zeros((64, 64, 3), np.uint8), "(T, H, W, 3)"),
        ("remix", np.zeros((0, 64, 64, 3), np.uint8), "T >= 1"),
    ],
    ids=["float-pixels", "four-channels", "one-image-not-frames", "no-frames"],
)
def test_a_source_array_that_is_not_frames_is_refused_by_name(backend, task, source, fix):
    """The Python API takes media as arrays: one of the wrong shape or type is refused before the
    model runs, naming the field and the form it takes."""
    with pytest.raises(InvalidRequest) as e:
        _run(backend, prompt="x", width=64, height=64, seconds=1, task=task, source=source)
    assert e.value.param == ("input_reference" if task == "i2v" else "video") and fix in e.value.message


def test_cancel_stops_at_the_next_step(backend):
    def cancel(fraction, message):
        raise Cancelled

    with pytest.raises(Cancelled):
        list(backend.generate(GenerationRequest(prompt="x", width=64, height=64, seconds=8), cancel))


def test_missing_weights_is_a_clear_error(tmp_path):
    with pytest.raises(ModelUnavailable, match="ZOETROPE_WEIGHTS_DIR"):
        list(BundledBackend(tmp_path).generate(GenerationRequest(prompt="x", width=64, height=64)))
