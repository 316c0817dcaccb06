import torch

from zoetrope.model.dit import DIT_CONFIGS, DiT, rope_3d


def _inputs(b, t, h, w, c=8):
    return (torch.randn(b, c, t, h, w), torch.rand(b, t), torch.randn(b, 6, 384),
            torch.ones(b, 6, dtype=torch.bool), torch.randn(b, 384))


def test_output_has_the_input_shape_at_any_duration_and_aspect():
    torch.manual_seed(0)
    dit = DiT(DIT_CONFIGS["tiny"])
    for t, h, w in [(1, 8, 8), (5, 8, 12), (9, 12, 8), (3, 16, 16)]:
        x, *rest = _inputs(2, t, h, w)
        assert dit(x, *rest).shape == x.shape


def test_adaln_zero_starts_as_zero_velocity():
    dit = DiT(DIT_CONFIGS["tiny"])
    x, *rest = _inputs(1, 2, 8, 8)
    assert torch.count_nonzero(dit(x, *rest)) == 0


def test_rope_encodes_relative_positions_at_unseen_sizes():
    # Rotations compose: the score between positions depends only on their offset, also far
    # beyond the sizes seen in training.
    angles = rope_3d(2, 40, 40, 32, torch.device("cpu"))  # (2*40*40, 16)
    q = torch.randn(32)

    def rot(a):
        x1, x2 = q.view(-1, 2).unbind(-1)
        return torch.stack([x1 * a.cos() - x2 * a.sin(), x1 * a.sin() + x2 * a.cos()], -1).flatten()

    def idx(t, r, c):
        return t * 1600 + r * 40 + c

    near = rot(angles[idx(0, 1, 2)]) @ rot(angles[idx(1, 3, 5)])
    far = rot(angles[idx(0, 31, 30)]) @ rot(angles[idx(1, 33, 33)])
    assert torch.allclose(near, far, atol=1e-3)


def test_text_changes_the_prediction():
    torch.manual_seed(0)
    dit = DiT(DIT_CONFIGS["tiny"])
    for p in dit.parameters():  # open the adaLN-Zero gates
        torch.nn.init.normal_(p, std=0.2)
    x, t, text, mask, pooled = _inputs(1, 2, 8, 8)
    a = dit(x, t, text, mask, pooled)
    b = dit(x, t, text + 1, mask, pooled)
    assert not torch.allclose(a, b)
