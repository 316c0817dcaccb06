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
    assert report["weights"] == str(tmp_path / "w")  # the folder ZOETROPE_WEIGHTS_DIR named
    for key in ("i2v_first_frame_psnr_db", "extend_seam_ratio", "extend_backward_seam_ratio", "loop_end_ratio",
                "blend_seam_ratio", "remix_changed"):
        assert key in report, key
    assert report["i2v_output_frame0_psnr_db"] == 99.0  # the still itself is frame 0
    assert set(report["targets"]) >= {"extend_seam_pass", "remix_changed"} and report["n"] == 1


def test_a_report_on_the_packages_weights_names_them_without_this_machines_path(monkeypatch):
    from zoetrope.backends.bundled import PACKAGE_WEIGHTS
    from zoetrope.cli.eval_tasks import weights_label

    monkeypatch.delenv("ZOETROPE_WEIGHTS_DIR", raising=False)
    assert weights_label() == "zoetrope/weights"
    monkeypatch.setenv("ZOETROPE_WEIGHTS_DIR", str(PACKAGE_WEIGHTS))
    assert weights_label() == "zoetrope/weights"


def test_eval_tasks_without_weights_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOETROPE_WEIGHTS_DIR", str(tmp_path / "none"))
    result = CliRunner().invoke(app, ["eval", "--tasks", "--n", "1", "--out", str(tmp_path / "x.json")])
    assert result.exit_code == 2 and "weights" in result.output


def test_the_renderers_own_continuation_keeps_direction_at_both_speeds():
    # The truth as the model: extending with the frames the renderer draws next scores full marks,
    # fast objects (which leave the frame in the new footage) as well as slow ones.
    import numpy as np

    from zoetrope.eval.tasks import SOURCE_FRAMES, _scenes, task_bench
    from zoetrope.world import render

    n = 8
    scenes = iter(_scenes(np.random.default_rng([0, 7]), n + 1))  # the bench draws the same scenes first
    extended = []

    def make(task, prompt, *, source, seconds=2.0, **fields):
        if task == "extend":
            scene = next(scenes)
            extended.append(scene.objects[0].speed)
            return render(scene, frames=SOURCE_FRAMES + 16, height=64, width=64, fps=8)[SOURCE_FRAMES:]
        return np.concatenate([source, source]) if source.ndim == 4 else np.repeat(source, 17, 0)

    result = task_bench(make, lambda image: image, n=n, seed=0)
    assert {"fast", "slow"} <= set(extended)
    assert result["extend_direction_fast"] == 1.0 and result["extend_direction_slow"] == 1.0
    assert result["extend_direction"] == 1.0


def test_layout_kept_follows_where_the_object_is():
    from dataclasses import replace

    import numpy as np

    from zoetrope.eval.tasks import SOURCE_FRAMES, _recolored, _scenes, layout_kept
    from zoetrope.world import render

    rng = np.random.default_rng(1)
    for scene in _scenes(rng, 4):
        src = render(scene, frames=SOURCE_FRAMES, height=64, width=64, fps=8)
        recolored = render(_recolored(scene, rng), frames=SOURCE_FRAMES, height=64, width=64, fps=8)
        assert layout_kept(src, recolored) == 1.0  # the same place in another colour
        obj = scene.objects[0]
        moved = replace(scene, objects=(replace(obj, x=obj.x + (0.25 if obj.x < 0.5 else -0.25)),))
        assert layout_kept(src, render(moved, frames=SOURCE_FRAMES, height=64, width=64, fps=8)) == 0.0
        assert layout_kept(src, np.repeat(src[:1] * 0 + src[0, :1, :1], SOURCE_FRAMES, 0)) == 0.0  # object gone
        assert layout_kept(np.zeros_like(src), src) is None  # nothing to keep


def test_the_renderers_own_remix_keeps_the_layout_and_follows_the_new_motion():
    import numpy as np

    from zoetrope.eval.tasks import SOURCE_FRAMES, _redirected, _scenes, task_bench
    from zoetrope.world import caption, render

    n = 6
    scenes = _scenes(np.random.default_rng([0, 7]), n + 1)
    motion_rng = np.random.default_rng([0, 8])  # the bench's own stream for the motion remix
    moved = []
    for scene in scenes[:n]:
        moved.append(_redirected(scene, motion_rng))
        caption(moved[-1], motion_rng, form="long")  # the bench draws its prompt next
    remixes = iter(range(3 * n))

    def make(task, prompt, *, source, seconds=2.0, **fields):
        if task == "remix":
            i = next(remixes)
            if i % 3:  # the motion remixes: the renderer draws the redirected scene
                return render(moved[i // 3], frames=SOURCE_FRAMES, height=64, width=64, fps=8)
            return source  # a colour remix that changed nothing keeps the layout, not the colour
        return np.concatenate([source, source]) if source.ndim == 4 else np.repeat(source, 17, 0)

    result = task_bench(make, lambda image: image, n=n, seed=0)
    assert result["remix_layout_kept"] == 1.0 and result["remix_changed"] == 0.0
    assert result["remix_motion_changed"] == result["remix_motion_changed_ramped"] == 1.0
