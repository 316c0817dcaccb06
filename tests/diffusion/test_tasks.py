"""Every creative task on tiny random weights: lengths, which frames are held, and refused inputs."""

import numpy as np
import pytest
import torch

from zoetrope.backends.base import GenerationRequest, StoryCard
from zoetrope.backends.bundled import BundledBackend, write_tiny_random_weights
from zoetrope.diffusion import joins, storyboard, tasks
from zoetrope.diffusion.pipeline import SampleOptions
from zoetrope.errors import InvalidRequest
from zoetrope.eval.temporal import frame_differences

OPTS = SampleOptions(steps=2, guidance=1.0)


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    return BundledBackend(write_tiny_random_weights(tmp_path_factory.mktemp("weights")))


@pytest.fixture(scope="module")
def pipe(backend):
    return backend.pipeline()


@pytest.fixture
def held(pipe, monkeypatch):
    """Records (cond, latents) of every sampled window, to check that known latents come out unchanged."""
    calls = []
    sample = pipe.sample_latents

    def spy(*a, **kw):
        z = sample(*a, **kw)
        calls.append((kw.get("cond"), z))
        return z

    monkeypatch.setattr(pipe, "sample_latents", spy)
    return calls


def clip(n, seed=0, size=(64, 64)):
    return np.random.default_rng(seed).integers(0, 255, (n, *size, 3), dtype=np.uint8)


def run(backend, **kw):
    kw = {"prompt": "a red ball moves right", "width": 64, "height": 64, "seed": 3, **kw}
    return np.concatenate(list(backend.generate(GenerationRequest(**kw))))


def assert_known_kept(calls, where):
    assert calls, "no window was sampled"
    for cond, z in calls:
        assert cond is not None
        idx = cond.known[0].nonzero().flatten().tolist()
        assert idx == where(z.shape[2])
        assert torch.equal(z[:, :, idx], cond.context[:, :, idx])


def test_extend_forward_holds_the_last_frames_and_makes_the_asked_seconds(backend, held):
    new = run(backend, task="extend", source=clip(17), seconds=3)
    assert new.shape == (24, 64, 64, 3)
    assert_known_kept(held, lambda t: [0, 1])  # the last 5 frames: two latent frames


def test_extend_backward_holds_the_first_frames_at_the_window_end(backend, held):
    new = run(backend, task="extend_backward", source=clip(17), seconds=2)
    assert new.shape == (16, 64, 64, 3)
    assert_known_kept(held, lambda t: [t - 2, t - 1])


def test_backward_windows_chain_towards_the_past(pipe):
    out = list(joins.extend_backward(pipe, "x", clip(9), 30, seed=0, options=OPTS))
    assert len(out) == 1 and out[0].shape[0] == 30


def test_blend_is_a_then_transition_then_b_with_both_ends_held(backend, held):
    a, b = clip(17, 1), clip(13, 2)
    out = run(backend, task="blend", source=a, target=b, seconds=1.5)
    assert out.shape[0] == 17 + 12 + 13
    assert np.array_equal(out[:17], a) and np.array_equal(out[-13:], b)
    assert_known_kept(held, lambda t: [0, t - 1])


def test_long_blend_continues_a_before_joining(pipe, held):
    out = np.concatenate(list(joins.transition(pipe, "x", clip(17), clip(17, 1), 28, seed=0, options=OPTS)))
    assert out.shape[0] == 28
    assert [c.known[0].tolist() for c, _ in held][-1] == [True, False, False, False, True]


def test_loop_appends_a_transition_back_into_the_start(backend, held):
    src = clip(17)
    out = run(backend, task="loop", source=src, seconds=1)
    assert out.shape[0] == 17 + 8 and np.array_equal(out[:17], src)
    assert_known_kept(held, lambda t: [0, t - 1])


def test_image_to_video_starts_on_the_still(backend):
    still = clip(1)
    out = run(backend, task="i2v", source=still, seconds=2)
    assert out.shape[0] == 16 and np.array_equal(out[0], still[0])  # 2 s at 8 fps


def test_image_of_another_size_is_fitted_to_the_bucket(backend):
    out = run(backend, task="i2v", source=clip(1, size=(100, 50)), seconds=1)
    assert out.shape == (8, 64, 64, 3)


def test_remix_keeps_length_and_strength_zero_keeps_the_latents(backend, pipe):
    src = clip(33)
    assert run(backend, task="remix", source=src, strength=0.6).shape == src.shape
    same = np.concatenate(list(tasks.remix(pipe, "x", src[:17], strength=0.0, seed=0, options=OPTS)))
    assert np.array_equal(same, pipe.decode_latents(pipe.encode_frames(src[:17])))


def test_remix_strength_end_frees_the_later_frames_more_than_the_first(pipe, held):
    src = clip(17)
    z0 = pipe.encode_frames(src)
    ramped = np.concatenate(list(tasks.remix(pipe, "x", src, strength=0.0, strength_end=1.0, seed=0, options=OPTS)))
    assert ramped.shape == src.shape
    z = held[-1][1]
    change = (z - z0).abs().mean(dim=(0, 1, 3, 4))  # per latent frame
    assert float(change[0]) == 0.0  # the first frame at strength 0 is the source's
    assert float(change[-1]) > float(change[1]) > 0.0  # later frames move further
    with pytest.raises(ValueError, match="strength_end"):
        list(tasks.remix(pipe, "x", src, strength=0.6, strength_end=1.5, seed=0, options=OPTS))


def test_recut_trims_then_extends(backend):
    src = clip(33)
    out = run(backend, task="recut", source=src, trim=(1.0, 3.0), seconds=1)
    assert out.shape[0] == 16 + 8 and np.array_equal(out[:16], src[8:24])
    assert run(backend, task="recut", source=src, trim=(0.5, 1.0), seconds=0).shape[0] == 4


def test_storyboard_segments_follow_the_cards(backend, pipe):
    cards = (StoryCard("a red ball", 0), StoryCard("a blue square", 1.5), StoryCard("a star", 3, clip(1)[0]))
    out = run(backend, task="storyboard", seconds=4, cards=cards)
    assert out.shape[0] == 32  # of the frames_for(4) = 33 made
    assert np.array_equal(out[24], cards[2].image)  # the image card cuts to its still at 3 s
    segs = storyboard.segments_for([0, 1.5, 3], ["a", "b", "c"], 33, 8)
    assert [s.frames for s in segs] == [12, 12, 9]


def test_long_video_windows_overlap_and_progress_rises(backend):
    progress = []
    chunks = list(backend.generate(GenerationRequest(prompt="x", width=64, height=64, seconds=6, seed=1),
                                   lambda f, m: progress.append(f)))
    assert sum(len(c) for c in chunks) == 48 and max(len(c) for c in chunks) <= 17  # 6 s, of 49 made
    assert progress == sorted(progress) and progress[-1] == 1.0


@pytest.mark.parametrize(
    ("kw", "param"),
    [
        ({"task": "extend", "source": clip(3), "seconds": 2}, "video"),
        ({"task": "extend_backward", "source": clip(5), "seconds": 2}, "video"),
        ({"task": "extend", "source": clip(17), "seconds": 0}, "seconds"),
        ({"task": "extend", "source": clip(17), "seconds": 59.5}, "seconds"),
        ({"task": "remix", "source": clip(17), "strength": 1.5}, "strength"),
        ({"task": "remix", "source": clip(17), "strength": -0.1}, "strength"),
        ({"task": "remix", "source": clip(17), "strength_end": 1.2}, "strength_end"),
        ({"task": "remix", "source": clip(17), "strength_end": float("nan")}, "strength_end"),
        ({"task": "blend", "source": clip(17), "seconds": 1}, "video_b"),
        ({"task": "blend", "source": clip(17), "target": clip(2), "seconds": 1}, "video_b"),
        ({"task": "i2v", "seconds": 1}, "input_reference"),
        ({"task": "recut", "source": clip(17), "trim": (1.5, 1.0), "seconds": 0}, "end"),
        ({"task": "recut", "source": clip(17), "trim": (0.0, 9.0), "seconds": 0}, "end"),
        ({"task": "recut", "source": clip(17), "trim": (0.0, 0.25), "seconds": 2}, "end"),
        ({"task": "storyboard", "seconds": 4, "cards": ()}, "cards"),
        ({"task": "storyboard", "seconds": 4, "cards": (StoryCard("a", 1),)}, "cards[0].start"),
        ({"task": "storyboard", "seconds": 4, "cards": (StoryCard("a", 0), StoryCard("b", 0))}, "cards[1].start"),
        ({"task": "storyboard", "seconds": 4, "cards": (StoryCard("a", 0), StoryCard("b", 5))}, "cards[1].start"),
        ({"task": "storyboard", "seconds": 4, "cards": (StoryCard("a", 0), StoryCard(" ", 2))}, "cards[1].prompt"),
        ({"task": "storyboard", "seconds": 61, "cards": (StoryCard("a", 0),)}, "seconds"),
    ],
)
def test_bad_input_is_refused_naming_the_field(backend, kw, param):
    with pytest.raises(InvalidRequest) as e:
        run(backend, **kw)
    assert e.value.param == param and e.value.message


@pytest.fixture
def decoded(pipe, monkeypatch):
    """Records every window's decoded frames (the VAE's output, before joins are mended)."""
    out = []
    decode = pipe.decode_latents

    def spy(z, join=None):
        frames = decode(z, join=join)
        out.append(frames)
        return frames

    monkeypatch.setattr(pipe, "decode_latents", spy)
    return out


def assert_starts_from(new, known, window_new, window_known):
    """`new` continues from the real `known` frame as the window's own output continued from its
    reconstruction of it: the VAE's reconstruction error does not show as a cut at the join."""
    expected = window_new.astype(np.float32) + known.astype(np.float32) - window_known.astype(np.float32)
    inside = (expected >= 0) & (expected <= 255)
    assert inside.mean() > 0.5
    assert np.abs(new.astype(np.float32) - expected)[inside].max() <= 0.5


def test_extend_starts_from_the_real_last_frame(pipe, decoded):
    source = np.full((17, 64, 64, 3), 128, np.uint8)
    new = np.concatenate(list(tasks.extend(pipe, "x", source, 12, seed=0, options=OPTS)))
    window = decoded[0]
    assert_starts_from(new[0], source[-1], window[tasks.CONTEXT], window[tasks.CONTEXT - 1])
    # Far from the join the window's own frames are left nearly as they were.
    far = np.abs(new[-1].astype(np.float32) - window[tasks.CONTEXT + 11])
    near = np.abs(new[0].astype(np.float32) - window[tasks.CONTEXT])
    assert far.mean() < 0.5 * near.mean()


def test_transition_meets_both_ends_gently(pipe):
    a, b = np.full((9, 64, 64, 3), 90, np.uint8), np.full((9, 64, 64, 3), 170, np.uint8)
    new = np.concatenate(list(joins.transition(pipe, "x", a, b, 12, seed=0, options=OPTS)))
    steps = frame_differences(np.concatenate([a[-1:], new, b[:1]]))
    # Whatever path the model took from a's last frame to b's first, no join is a cut: the
    # first and last steps are the smallest of the transition, the change is in its middle.
    assert steps[0] <= 0.05 * steps.sum() and steps[-1] <= 0.05 * steps.sum()
    assert steps[0] <= np.median(steps) and steps[-1] <= np.median(steps)


def test_ease_spreads_a_late_jump_over_the_transition():
    path = np.zeros((14, 4, 4, 3), np.uint8)
    path[-1] = 255  # the generated frames stay put, then jump into the next clip
    out = joins.ease(path, 12)
    levels = np.concatenate([[0.0], out[:, 0, 0, 0].astype(float), [255.0]])
    steps = np.diff(levels)
    assert (steps >= 0).all()  # on its way, never back
    assert steps[0] < 2 and steps[-1] < 2  # 0.4% of the way at each join
    assert steps.max() < 40  # the middle's largest step: 1.9 / 13 of the way, not the jump of 255


def test_ease_keeps_a_still_transition():
    still = np.full((14, 4, 4, 3), 77, np.uint8)
    assert np.array_equal(joins.ease(still, 12), still[1:-1])


def test_windows_that_start_with_known_frames_go_to_the_continuation_dit(tmp_path):
    from safetensors.torch import save_file

    from zoetrope.diffusion.pipeline import CONTINUATION_FILE
    from zoetrope.model.dit import DIT_CONFIGS, DiT

    weights = write_tiny_random_weights(tmp_path / "weights")
    torch.manual_seed(1)
    save_file({k: v.half().contiguous() for k, v in DiT(DIT_CONFIGS["tiny"]).state_dict().items()},
              weights / CONTINUATION_FILE)
    backend = BundledBackend(weights)
    pipe = backend.pipeline()
    assert pipe.continuation is not None
    calls = {"main": 0, "continuation": 0}
    for name, net in (("main", pipe.dit), ("continuation", pipe.continuation)):
        net.register_forward_hook(lambda *_, name=name: calls.__setitem__(name, calls[name] + 1))

    list(backend.generate(GenerationRequest(prompt="a red circle", width=64, height=64, task="t2v", seconds=2,
                                            fps=8, steps=2, guidance=1.0, seed=0)))
    assert calls == {"main": 2, "continuation": 0}  # 16 frames: one window, no known frames
    out = np.concatenate(list(backend.generate(GenerationRequest(
        prompt="a red circle", width=64, height=64, task="extend", seconds=1, fps=8, steps=2, guidance=1.0, seed=0,
        source=clip(9)))))
    assert len(out) == 8 and calls == {"main": 2, "continuation": 2}
    list(backend.generate(GenerationRequest(prompt="a red circle", width=64, height=64, task="extend_backward",
                                            seconds=1, fps=8, steps=2, guidance=1.0, seed=0, source=clip(9))))
    assert calls["continuation"] == 2 and calls["main"] > 2  # known frames at the end: the main DiT
