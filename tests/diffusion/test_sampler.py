import torch

from zoetrope.diffusion import Conditioning, denoise, logit_normal, noisy, schedule, shift_time


def _point_mass_velocity(target):
    # For data that is a single point c, x_t = (1-t) c + t e, so the exact velocity is (x - c) / t.
    def v(x, t):
        return (x - target) / t[:, None, :, None, None].clamp(min=1e-6)

    return v


def test_euler_with_exact_velocity_lands_on_the_data():
    c = torch.randn(1, 4, 3, 2, 2)
    x = denoise(_point_mass_velocity(c), torch.randn_like(c), steps=4)
    assert torch.allclose(x, c, atol=1e-5)


def test_heun_also_lands_on_the_data_with_a_shifted_schedule():
    c = torch.randn(1, 4, 3, 2, 2)
    x = denoise(_point_mass_velocity(c), torch.randn_like(c), steps=3, method="heun", shift=3.0)
    assert torch.allclose(x, c, atol=1e-4)


def test_known_frames_are_held_clean_and_seen_at_time_zero():
    c = torch.randn(1, 4, 3, 2, 2)
    context = torch.randn_like(c)
    known = torch.tensor([[True, False, False]])
    seen = []

    def v(x, t):
        seen.append(t.clone())
        assert torch.equal(x[:, :, 0], context[:, :, 0])
        return _point_mass_velocity(c)(x, t)

    x = denoise(v, torch.randn_like(c), steps=4, cond=Conditioning(context, known))
    assert torch.equal(x[:, :, 0], context[:, :, 0])
    assert torch.allclose(x[:, :, 1:], c[:, :, 1:], atol=1e-5)
    assert all(float(t[0, 0]) == 0.0 and float(t[0, 1]) > 0 for t in seen)


def test_partial_start_begins_part_way_for_remix():
    c = torch.randn(1, 4, 1, 2, 2)
    steps = []
    x = denoise(_point_mass_velocity(c), 0.5 * c + 0.5 * torch.randn_like(c), steps=10, start=0.5,
                on_step=lambda i, n: steps.append(n))
    assert torch.allclose(x, c, atol=1e-5)
    assert steps[-1] <= 6  # only the second half of the schedule is run


def test_schedule_and_training_times():
    s = schedule(8, shift=3.0)
    assert s[0] == 1 and s[-1] == 0 and torch.all(s[1:] < s[:-1])
    assert torch.all(shift_time(torch.tensor([0.5]), 3.0) > 0.5)
    t = logit_normal((10_000,), generator=torch.Generator().manual_seed(0))
    assert 0 < t.min() and t.max() < 1 and abs(t.mean().item() - 0.5) < 0.02
    x0, e = torch.zeros(1, 1, 2, 1, 1), torch.ones(1, 1, 2, 1, 1)
    assert torch.allclose(noisy(x0, e, torch.tensor([[0.0, 0.25]])).flatten(), torch.tensor([0.0, 0.25]))


def test_per_frame_starts_land_on_the_data_and_each_frame_starts_at_its_own_level():
    c = torch.randn(1, 4, 3, 2, 2)
    starts = torch.tensor([0.4, 0.7, 1.0])
    seen = []

    def v(x, t):
        seen.append(t.clone())
        return _point_mass_velocity(c)(x, t)

    x0 = (1 - starts[None, None, :, None, None]) * c + starts[None, None, :, None, None] * torch.randn_like(c)
    x = denoise(v, x0, steps=8, start=starts)
    assert torch.allclose(x, c, atol=1e-5)
    assert torch.allclose(seen[0][0], starts)  # each frame is first seen at its own noise level
    assert all(bool((t[0, 0] < t[0, 1]) & (t[0, 1] < t[0, 2])) for t in seen)  # and stays below the next


def test_equal_per_frame_starts_are_the_single_start_exactly():
    c = torch.randn(1, 4, 3, 2, 2)
    noise = torch.randn_like(c)

    def v(x, t):
        return torch.tanh(x * 3 + t[:, None, :, None, None])  # any velocity

    one = denoise(v, noise, steps=6, start=0.6)
    each = denoise(v, noise, steps=6, start=torch.full((3,), 0.6))
    assert torch.equal(one, each)
