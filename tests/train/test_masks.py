"""The DiT's conditioning masks are drawn in the proportions a run asks for."""

import pytest
import torch
from typer.testing import CliRunner

from zoetrope.cli import app
from zoetrope.train.dit import DiTTrainConfig, random_known


def kinds(known: torch.Tensor) -> list[str]:
    out = []
    for row in known.tolist():
        t, n = len(row), sum(row)
        if n == 0:
            out.append("none")
        elif row == [True] * n + [False] * (t - n):
            out.append("first")  # the first frame or the first k
        elif row == [False] * (t - n) + [True] * n:
            out.append("last")
        elif n == 2 and row[0] and row[-1]:
            out.append("both")
        else:
            out.append("other")
    return out


@pytest.mark.parametrize(("weights", "kind"), [((1, 0, 0, 0, 0), "none"), ((0, 0, 1, 0, 0), "first"),
                                               ((0, 0, 0, 1, 0), "last"), ((0, 0, 0, 0, 1), "both")])
def test_one_weight_gives_only_that_mask(weights, kind):
    known = random_known(400, 5, torch.Generator().manual_seed(0), weights)
    assert set(kinds(known)) == {kind}


def test_first_k_keeps_at_least_one_frame_free():
    known = random_known(400, 5, torch.Generator().manual_seed(1), (0, 0, 1, 0, 0))
    counts = known.sum(dim=1)
    assert counts.min() >= 1 and counts.max() <= 3 and set(counts.tolist()) == {1, 2, 3}


def test_proportions_follow_the_weights():
    known = random_known(4000, 5, torch.Generator().manual_seed(2), (0.4, 0.2, 0.2, 0.1, 0.1))
    share = {k: kinds(known).count(k) / 4000 for k in ("none", "first", "last", "both")}
    assert abs(share["none"] - 0.4) < 0.03
    assert abs(share["first"] - 0.4) < 0.03  # first frame and first k
    assert abs(share["last"] - 0.1) < 0.02 and abs(share["both"] - 0.1) < 0.02


def test_images_have_nothing_to_condition_on():
    assert not random_known(8, 1, torch.Generator().manual_seed(0), (0, 1, 0, 0, 0)).any()


@pytest.mark.parametrize("masks", ["0.5,0.5", "a,b,c,d,e", "0,0,0,0,0", "1,-1,0,0,1"])
def test_the_cli_names_the_option_and_the_form(tmp_path, masks):
    result = CliRunner().invoke(app, ["train", "dit", "--out", str(tmp_path / "run"), "--masks", masks])
    assert result.exit_code == 2
    assert "--masks" in result.output and "0.5,0.2,0.1,0.1,0.1" in result.output
    assert not (tmp_path / "run").exists()


def test_the_config_refuses_a_bad_mix_from_python_too():
    with pytest.raises(ValueError, match="mask_weights"):
        DiTTrainConfig(mask_weights=(1, 0, 0))
