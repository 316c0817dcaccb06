import pytest
import torch

from zoetrope.model.vae import VAE_CONFIGS, VideoVAE, frames_for_latents, latents_for_frames, smooth_handovers


@pytest.fixture(scope="module")
def vae():
    torch.manual_seed(0)
    return VideoVAE(VAE_CONFIGS["tiny"]).eval()


def test_compresses_time_4x_and_space_8x(vae):
    z = vae.encode(torch.randn(2, 3, 17, 64, 48))
    assert z.shape == (2, 8, 5, 8, 6)
    assert vae.decode(z).shape == (2, 3, 17, 64, 48)


def test_an_image_is_a_one_frame_video(vae):
    z = vae.encode(torch.randn(1, 3, 1, 32, 32))
    assert z.shape == (1, 8, 1, 4, 4)
    assert vae.decode(z).shape == (1, 3, 1, 32, 32)


@torch.no_grad()
def test_frame_zero_does_not_see_later_frames(vae):
    x = torch.randn(1, 3, 9, 32, 32)
    changed = x.clone()
    changed[:, :, 1:] = torch.randn_like(changed[:, :, 1:])
    z, z2 = vae.encode(x), vae.encode(changed)
    assert torch.equal(z[:, :, 0], z2[:, :, 0])
    assert not torch.allclose(z[:, :, 1:], z2[:, :, 1:])
    # and the image alone encodes to the same first latent
    assert torch.allclose(vae.encode(x[:, :, :1])[:, :, 0], z[:, :, 0], atol=1e-5)


@torch.no_grad()
def test_decoder_is_causal_too(vae):
    z = torch.randn(1, 8, 3, 4, 4)
    later = z.clone()
    later[:, :, 2] += 1
    a, b = vae.decode(z), vae.decode(later)
    assert torch.equal(a[:, :, :5], b[:, :, :5])  # frames of latents 0 and 1 unchanged


def test_frame_counts_must_be_one_plus_multiple_of_four():
    assert latents_for_frames(33) == 9 and frames_for_latents(9) == 33
    with pytest.raises(ValueError, match="1 \\+ 4k"):
        latents_for_frames(32)


def _steps(x: torch.Tensor) -> torch.Tensor:
    """The mean absolute change between consecutive frames of (1, 3, T, H, W): (T-1,)."""
    return (x[:, :, 1:] - x[:, :, :-1]).abs().mean((0, 1, 3, 4))


def test_handover_steps_are_spread_over_the_frames_around_them():
    # Steady motion (a constant change per frame) plus a jump into each latent frame's first
    # video frame (1, 5, 9), which is what the decoder's runs of four frames look like.
    t = torch.arange(13, dtype=torch.float32)
    x = (0.01 * t + 0.2 * ((t >= 1).float() + (t >= 5).float() + (t >= 9).float()))[None, None, :, None, None]
    x = x.expand(1, 3, 13, 4, 4).clone()
    assert _steps(x).max() > 0.2
    out = smooth_handovers(x)
    assert _steps(out).max() < 0.08  # the 0.2 jump is now a ramp of small changes
    assert torch.allclose(out[:, :, -1], x[:, :, -1])  # frames beyond reach of a handover are kept
    # Between frames that have a neighbour on either side of a handover, the ramp adds no brightness.
    assert torch.allclose(out[:, :, 3:].mean(2), x[:, :, 3:].mean(2), atol=1e-6)


def test_steady_motion_is_left_as_it_is():
    t = torch.arange(17, dtype=torch.float32)
    x = torch.sin(0.3 * t)[None, None, :, None, None] * torch.linspace(0, 1, 8)[None, None, None, :, None]
    x = x.expand(1, 3, 17, 8, 8).clone()
    linear = (0.05 * t)[None, None, :, None, None].expand(1, 3, 17, 8, 8)
    assert torch.allclose(smooth_handovers(linear), linear, atol=1e-6)
    assert smooth_handovers(x[:, :, :1]).equal(x[:, :, :1])  # an image has no handover


def test_a_join_after_known_footage_moves_the_whole_step_into_the_new_frames():
    # Known footage fills frames 0-4 and is put back in place of their decoding, so smoothing may
    # change nothing there: the step into frame 5 is ramped out over frames 5-8 alone.
    t = torch.arange(13, dtype=torch.float32)
    x = (0.01 * t + 0.2 * (t >= 5).float())[None, None, :, None, None]
    x = x.expand(1, 3, 13, 4, 4).clone()
    out = smooth_handovers(x, join=5)
    assert torch.equal(out[:, :, :5], x[:, :, :5])
    steps = _steps(out)
    assert abs(steps[4] - 0.01) < 1e-5  # into the join: the motion around it, not the jump
    assert torch.allclose(steps[5:9], torch.full((4,), 0.06))  # the 0.2 jump, a quarter per change
    assert torch.allclose(out[:, :, 9:], x[:, :, 9:])
    # Without `join`, a quarter of the step would stay at the join once frames 3-4 are replaced.
    spread = smooth_handovers(x)
    spread[:, :, :5] = x[:, :, :5]
    assert _steps(spread)[4] > 0.05


def test_a_join_must_be_a_latent_frames_first_frame():
    x = torch.zeros(1, 3, 9, 4, 4)
    for join in (0, 4, 9, 13):
        with pytest.raises(ValueError, match="join"):
            smooth_handovers(x, join=join)
