"""`zoetrope eval --real`: scores the renderer and writes one number per axis."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from zoetrope.cli import app
from zoetrope.eval import AXES


def test_eval_real_writes_one_score_per_axis(tmp_path):
    out = tmp_path / "eval" / "results.json"
    result = CliRunner().invoke(app, ["eval", "--real", "--n", "6", "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["source"] == "renderer" and report["n"] == 6
    for axis in AXES:
        assert report[axis] is None or 0.0 <= report[axis] <= 1.0
    assert report["color"] >= 0.98 and "train-style" in report and "paraphrase" not in report


def test_eval_real_with_paraphrase_adds_a_separate_block(tmp_path):
    out = tmp_path / "results.json"
    result = CliRunner().invoke(app, ["eval", "--real", "--paraphrase", "--n", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert set(AXES) <= set(report["paraphrase"]) and report["paraphrase"]["n"] == 3
