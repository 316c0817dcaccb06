"""`zoetrope eval --tasks` runs the creative-task bench on whatever weights are installed."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from zoetrope.backends.bundled import write_tiny_random_weights
from zoetrope.cli import app


def test_eval_tasks_writes_every_task_metric_with_its_target(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOETROPE_WEIGHTS_DIR", str(write_tiny_random_weights(tmp_path / "w")))
    out = tmp_path / "tasks.json"
    result = CliRunner().invoke(app, ["eval", "--tasks", "--n", "1", "--guidance", "3", "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["guidance"] == 3.0
    for key in ("i2v_first_frame_psnr_db", "extend_seam_ratio", "extend_backward_seam_ratio", "loop_end_ratio",
                "blend_seam_ratio", "remix_changed"):
        assert key in report, key
    assert report["i2v_output_frame0_psnr_db"] == 99.0  # the still itself is frame 0
    assert set(report["targets"]) >= {"extend_seam_pass", "remix_changed"} and report["n"] == 1


def test_eval_tasks_without_weights_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOETROPE_WEIGHTS_DIR", str(tmp_path / "none"))
    result = CliRunner().invoke(app, ["eval", "--tasks", "--n", "1", "--out", str(tmp_path / "x.json")])
    assert result.exit_code == 2 and "weights" in result.output
