"""Carrying a join's reconstruction error into new frames: the seam closes where the picture stays,
and nothing that moved away is left behind as a ghost."""

from __future__ import annotations

import numpy as np

from zoetrope.diffusion.tasks import Join, carry, fade

SIZE = 32


def _frame(x: int | None, backdrop: int = 100, square: int = 220) -> np.ndarray:
    """A grey backdrop with an 8x8 bright square at column x (None: no square)."""
    f = np.full((SIZE, SIZE, 3), backdrop, np.uint8)
    if x is not None:
        f[12:20, x : x + 8] = square
    return f


def test_seam_closes_on_a_still_picture():
    known = _frame(4)
    decoded = _frame(4, backdrop=106, square=205)  # the VAE's round trip: a little off everywhere
    video = np.stack([decoded] * 3)  # new frames that show what the decoded frame shows
    out = carry(video, (Join(known, decoded), fade(3)))
    assert np.array_equal(out[0], known)  # the first new frame starts exactly where the footage ends
    assert abs(int(out[2, 0, 0, 0]) - 100) < abs(106 - 100)  # and the correction fades, not vanishes


def test_an_object_that_moved_away_leaves_no_lasting_ghost():
    known = _frame(4)
    decoded = _frame(4, backdrop=106, square=180)  # the square came back darker: a large error on it
    frames = 8
    video = np.stack([_frame(4 + 3 * k, backdrop=106, square=180) for k in range(frames)])  # the square glides right
    out = carry(video, (Join(known, decoded), fade(frames)))
    assert np.array_equal(out[0], known)  # at the join the footage's own frame, square and all
    for k in range(3, frames):
        behind = out[k, 12:20, 4 : min(12, 4 + 3 * k)].astype(int) - 106  # where the square was, backdrop now
        ghost = np.abs(behind).max()  # what the square's error added there; 40 * exp(-k / 8) carried as long
        assert ghost <= 40 * np.exp(-k / 2) + 1, f"frame {k}: a ghost of the square {ghost} levels bright"
        now = out[k, 12:20, max(12, 4 + 3 * k) : 12 + 3 * k]  # the moved square, past where the old one ended
        assert np.abs(now.astype(int) - 180).max() <= 40 * np.exp(-k / 2) + 1  # as the model made it
    backdrop = out[:, 0, 0, 0].astype(int)  # the backdrop's correction fades slowly, as on a still picture
    assert backdrop[3] == 100 + round(6 * (1 - np.exp(-3 / 8)))
