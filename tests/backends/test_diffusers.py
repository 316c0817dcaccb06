"""The diffusers backends on tiny random-weight pipelines saved to disk and loaded back by path."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("diffusers")

from zoetrope.backends.base import Backend, Cancelled, GenerationRequest  # noqa: E402
from zoetrope.backends.diffusers import CogVideoXBackend, LTXBackend, WanBackend  # noqa: E402
from zoetrope.errors import UnsupportedByBackend  # noqa: E402

TINY = {"sizes": [[64, 64]], "steps": 2}
# seconds → frames at each family's fps: Wan 16 fps, 4k+1; LTX 24 fps, 8k+1; CogVideoX 8 fps, 8k+1.
CASES = {"wan": (WanBackend, 0.25, 5), "ltx": (LTXBackend, 0.34, 9), "cogvideox": (CogVideoXBackend, 1.0, 9)}


@pytest.fixture(scope="module")
def backends(request, wan_weights, ltx_weights, cogvideox_weights) -> dict[str, Backend]:
    weights = {"wan": wan_weights, "ltx": ltx_weights, "cogvideox": cogvideox_weights}
    return {kind: cls(weights=str(weights[kind]), **TINY) for kind, (cls, _, _) in CASES.items()}


def run(backend: Backend, **kw) -> tuple[np.ndarray, list[tuple[float, str]]]:
    seen: list[tuple[float, str]] = []
    request = GenerationRequest(**{"prompt": "a red ball jumps", "width": 64, "height": 64, "seed": 7, **kw})
    frames = np.concatenate(list(backend.generate(request, lambda f, m: seen.append((f, m)))))
    return frames, seen


@pytest.mark.parametrize("kind", list(CASES))
def test_each_family_makes_the_frames_its_fps_and_stride_give_at_the_asked_size(backends, kind):
    _, seconds, expected = CASES[kind]
    backend = backends[kind]
    assert isinstance(backend, Backend)
    frames, seen = run(backend, seconds=seconds)
    assert frames.shape == (expected, 64, 64, 3) and frames.dtype == np.uint8
    assert backend.frames_for(seconds) == expected
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert [m for _, m in seen if m.startswith("step")] == ["step 1/2", "step 2/2"]
    assert any(f"{expected} frames at 64x64" in m for _, m in seen)  # says what it will produce


def test_same_seed_same_video_and_another_seed_another(backends):
    a, _ = run(backends["wan"], seconds=0.25, seed=3)
    b, _ = run(backends["wan"], seconds=0.25, seed=3)
    c, _ = run(backends["wan"], seconds=0.25, seed=4)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_text_to_image_is_one_frame(backends):
    frames, _ = run(backends["ltx"], task="t2i", seconds=0)
    assert frames.shape == (1, 64, 64, 3)


def test_ltx_animates_a_still_with_the_same_weights(backends):
    assert "i2v" in backends["ltx"].capabilities.tasks
    still = np.full((1, 80, 96, 3), 200, np.uint8)  # another size: cropped to the generation size
    frames, _ = run(backends["ltx"], task="i2v", seconds=0.34, source=still)
    assert frames.shape == (9, 64, 64, 3)
    text, _ = run(backends["ltx"], seconds=0.34)  # back to text → video after the image pipeline ran
    assert text.shape == (9, 64, 64, 3)


def test_wan_image_to_video_checkpoint_does_only_i2v(wan_i2v_weights):
    backend = WanBackend(weights=str(wan_i2v_weights), pipeline="WanImageToVideoPipeline", **TINY)
    assert backend.capabilities.tasks == ("i2v",)
    frames, _ = run(backend, task="i2v", seconds=0.25, source=np.zeros((64, 64, 3), np.uint8))
    assert frames.shape == (5, 64, 64, 3)
    with pytest.raises(UnsupportedByBackend, match="cannot do 't2v'"):
        run(backend, seconds=0.25)


def test_cancel_stops_between_steps_and_the_backend_still_works(backends):
    backend = backends["cogvideox"]
    steps: list[str] = []

    def cancel_after_first_step(fraction: float, message: str) -> None:
        if message.startswith("step"):
            steps.append(message)
            raise Cancelled

    request = GenerationRequest("a dog", 64, 64, seconds=1.0, seed=1, steps=4)
    with pytest.raises(Cancelled):
        list(backend.generate(request, cancel_after_first_step))
    assert steps == ["step 1/4"]
    frames, _ = run(backend, seconds=1.0)
    assert frames.shape == (9, 64, 64, 3)


def test_speed_and_memory_options_apply_and_still_generate(wan_weights):
    backend = WanBackend(weights=str(wan_weights), cache="first_block", cache_threshold=0.2, vae_tiling=True,
                         attention_backend="native", **TINY)
    frames, _ = run(backend, seconds=0.25)
    assert frames.shape == (5, 64, 64, 3)
    pipe = backend._pipes["WanPipeline"]
    assert pipe.transformer.is_cache_enabled and pipe.vae.use_tiling
