"""The creative-task commands on tiny random weights: files, lengths, kept footage and refused input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from zoetrope.cli import app
from zoetrope.errors import InvalidRequest, ModerationBlocked, ZoetropeError
from zoetrope.jobs.local import local_record_lookup
from zoetrope.media import read_frames, write_mp4, write_png
from zoetrope.safety import verify

pytestmark = pytest.mark.usefixtures("tiny_weights")


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A 17-frame 64x64 clip of flat colours (survives H.264 nearly unchanged)."""
    frames = np.zeros((17, 64, 64, 3), np.uint8)
    frames[..., 0] = np.linspace(20, 220, 17, dtype=np.uint8)[:, None, None]
    return write_mp4(tmp_path_factory.mktemp("media") / "clip.mp4", frames, fps=8, crf=0)


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def frames_of(path):
    return read_frames(path).frames


def test_generate_streams_a_long_video_to_mp4(tmp_path):
    out = tmp_path / "long.mp4"
    result = invoke("generate", "a red ball", "--seconds", 6, "--size", "128x128", "-o", out)
    assert result.exit_code == 0, result.output
    assert frames_of(out).shape == (48, 128, 128, 3)  # 6 s at 8 fps
    assert not list(tmp_path.glob(".*.tmp"))


def test_animate_any_size_image(tmp_path):
    still = write_png(tmp_path / "still.png", np.full((50, 90, 3), 200, np.uint8))
    out = tmp_path / "a.mp4"
    result = invoke("animate", still, "it bounces", "--seconds", 1, "-o", out)
    assert result.exit_code == 0, result.output
    assert frames_of(out).shape == (8, 64, 112, 3)


@pytest.mark.parametrize("backward", [False, True])
def test_extend_keeps_the_original_footage(tmp_path, clip, backward):
    out = tmp_path / "e.mp4"
    result = invoke("extend", clip, "--seconds", 1, *(["--backward"] if backward else []), "-o", out)
    assert result.exit_code == 0, result.output
    frames, original = frames_of(out), frames_of(clip)
    assert len(frames) == 17 + 8
    kept = frames[-17:] if backward else frames[:17]
    # Not regenerated: only the new generation's invisible mark (PSNR 35.8 dB alone) and the encoder touch it.
    mse = np.mean((kept.astype(float) - original) ** 2)
    assert 10 * np.log10(255**2 / mse) > 33.0


class _RedAlarm:
    """A frame classifier that flags any frame whose red channel averages over 150 (the clip's last
    frames, never the tiny model's grey output), counting the frames it sees."""

    categories = ("sexual",)

    def __init__(self) -> None:
        self.seen = 0

    def scores(self, frames):
        self.seen += len(frames)
        return [{"sexual": float(f[..., 0].mean() > 150)} for f in frames]


def test_an_extension_whose_kept_footage_fails_the_frame_check_writes_nothing(tmp_path, clip, monkeypatch):
    from zoetrope.errors import OutputBlocked
    from zoetrope.safety import frames as frame_check

    alarm = _RedAlarm()
    monkeypatch.setattr(frame_check, "_default", alarm)
    out = tmp_path / "e.mp4"
    # Backward: the new footage leads into the clip's dark first frame, so only the kept frames are red.
    result = invoke("extend", clip, "--seconds", 1, "--backward", "-o", out)
    assert isinstance(result.exception, OutputBlocked), result.output
    assert alarm.seen and not out.exists() and not list(tmp_path.glob(".*"))


def test_loop_blend_remix_recut_write_the_expected_lengths(tmp_path, clip):
    cases = {
        "loop": (["loop", clip, "--seconds", 1], 17 + 8),
        "blend": (["blend", clip, clip, "--seconds", 1.5], 17 + 12 + 17),
        "remix": (["remix", clip, "a blue ball", "--strength", 0.5], 17),
        "remix-new-motion": (["remix", clip, "a blue ball moves left", "--strength-end", 1], 17),
        "recut": (["recut", clip, "--start", 0.5, "--end", 1.5, "--extend", 1], 8 + 8),
    }
    for name, (args, length) in cases.items():
        out = tmp_path / f"{name}.mp4"
        result = invoke(*args, "-o", out)
        assert result.exit_code == 0, (name, result.output)
        assert len(frames_of(out)) == length, name


def test_storyboard_from_toml_and_json(tmp_path):
    toml = tmp_path / "board.toml"
    toml.write_text('seconds = 3\nsize = "64x64"\n[[cards]]\nprompt = "a ball"\nstart = 0\n'
                    '[[cards]]\nprompt = "a star"\nstart = 1.5\n')
    result = invoke("storyboard", toml, "-o", tmp_path / "s.mp4")
    assert result.exit_code == 0, result.output
    assert len(frames_of(tmp_path / "s.mp4")) == 24  # 3 s
    board = tmp_path / "board.json"
    board.write_text(json.dumps({"cards": [{"prompt": "a ball", "start": 0}, {"prompt": "b", "start": 0}]}))
    result = invoke("storyboard", board, "-o", tmp_path / "bad.mp4")
    assert isinstance(result.exception, InvalidRequest) and result.exception.param == "cards[1].start"
    assert "overlap" in result.exception.message and not (tmp_path / "bad.mp4").exists()


@pytest.mark.parametrize(
    ("args", "param"),
    [
        (["remix", "CLIP", "x", "--strength", 1.5], "--strength"),
        (["remix", "CLIP", "x", "--strength-end", 2], "--strength-end"),
        (["remix", "NOPE", "x"], "VIDEO"),
        (["extend", "CLIP", "--seconds", 59], "--seconds"),
        (["extend", "CLIP", "--seconds", -2], "--seconds"),
        (["extend", "CLIP", "--seconds", 1, "--guidance", -1], "--guidance"),
        (["extend", "NOPE", "--seconds", 1], "VIDEO"),
        (["loop", "CLIP", "--seconds", 0], "--seconds"),
        (["loop", "CLIP", "--seconds", 1, "--steps", 0], "--steps"),
        (["blend", "CLIP", "NOPE"], "B"),
        (["blend", "NOPE", "CLIP"], "A"),
        (["blend", "CLIP", "CLIP", "--seconds", -1], "--seconds"),
        (["recut", "CLIP", "--start", 1, "--end", 0.5], "--end"),
        (["recut", "CLIP", "--start", -1, "--end", 1], "--start"),
        (["recut", "CLIP", "--end", 1, "--extend", -1], "--extend"),
        (["recut", "CLIP", "--end", 1, "--extend", 60], "--extend"),
        (["recut", "NOPE", "--end", 1], "VIDEO"),
        (["animate", "CLIP", "it spins"], "IMAGE"),
        (["animate", "NOPE", "it spins"], "IMAGE"),
        (["animate", "STILL", "it spins", "--seconds", 61], "--seconds"),
        (["animate", "STILL", "it spins", "--seed", -1], "--seed"),
    ],
)
def test_bad_input_names_the_field(tmp_path, clip, args, param):
    """As the command has it (`--strength-end`, `B`), not as the request or the API does (`strength_end`, `target`)."""
    still = write_png(tmp_path / "still.png", np.full((64, 64, 3), 90, np.uint8))
    files = {"CLIP": clip, "STILL": still, "NOPE": tmp_path / "nope.mp4"}
    result = invoke(*[files.get(a, a) for a in args], "-o", tmp_path / "x.mp4")
    assert isinstance(result.exception, ZoetropeError), result.output  # InvalidMedia for a missing file
    assert result.exception.param == param, result.exception.message
    assert result.exception.param in typed_names(args[0])
    assert not (tmp_path / "x.mp4").exists()


def typed_names(command: str) -> set[str]:
    """What `command`'s user types: its options (`--strength-end`) and its arguments (`VIDEO`)."""
    import typer.main

    params = typer.main.get_command(app).commands[command].params
    return {p.name.upper() for p in params if p.param_type_name == "argument"} | {
        opt for p in params if p.param_type_name == "option" for opt in p.opts if opt.startswith("--")}


def test_every_name_a_task_command_gives_its_errors_is_one_it_has():
    from zoetrope.cli.tasks import TYPED_NAMES

    for command, names in TYPED_NAMES.items():
        for field, name in names.items():  # a storyboard's first prompt is its file's first card's
            assert name in typed_names(command) or name == "cards[0].prompt", (command, field, name)


@pytest.mark.parametrize("seconds", [-2, 0])
def test_new_footage_that_is_not_more_than_0_says_so(tmp_path, clip, seconds):
    """--seconds -2 was told 'a finite number 0 or more', and 0 then 'must be positive'."""
    result = invoke("extend", clip, "--seconds", seconds, "-o", tmp_path / "x.mp4")
    assert isinstance(result.exception, InvalidRequest) and result.exception.param == "--seconds"
    assert "more than 0" in result.exception.message and "0 or more" not in result.exception.message


def test_generate_seconds_0_to_a_video_name_says_it_makes_an_image(tmp_path):
    result = invoke("generate", "a red ball", "--seconds", 0, "-o", tmp_path / "g0.mp4")
    assert isinstance(result.exception, InvalidRequest) and result.exception.param == "--output"
    message = result.exception.message
    assert "must end in .png" in message and "--seconds 0" in message and "image" in message
    assert "--seconds more than 0" in message and not (tmp_path / "g0.mp4").exists()


def test_too_short_video_cannot_be_extended(tmp_path):
    short = write_mp4(tmp_path / "short.mp4", np.zeros((3, 64, 64, 3), np.uint8), fps=8)
    result = invoke("extend", short, "--backward", "-o", tmp_path / "x.mp4")
    assert isinstance(result.exception, InvalidRequest) and result.exception.param == "VIDEO"
    assert "at least" in result.exception.message


def test_an_output_that_is_an_input_is_refused_and_the_input_kept(tmp_path, clip, monkeypatch):
    monkeypatch.chdir(tmp_path)
    source = tmp_path / "out.mp4"  # the name `generate` writes by default, and the default -o here
    source.write_bytes(Path(clip).read_bytes())
    for args in (["extend", "out.mp4", "--seconds", 1], ["blend", clip, "out.mp4"], ["remix", "out.mp4", "a cube"]):
        result = invoke(*args)
        assert isinstance(result.exception, InvalidRequest) and result.exception.param == "--output", result.output
        assert "destroy the source" in result.exception.message
    assert source.read_bytes() == Path(clip).read_bytes()


def test_blend_says_which_clip_is_too_short(tmp_path, clip):
    short = write_mp4(tmp_path / "short.mp4", np.zeros((3, 64, 64, 3), np.uint8), fps=8)
    for a, b, which in ((short, clip, "A"), (clip, short, "B")):
        result = invoke("blend", a, b, "-o", tmp_path / "x.mp4")
        assert isinstance(result.exception, InvalidRequest) and result.exception.param == which, result.output


BLOCKED = "a nazi rally with swastika flags"


@pytest.mark.parametrize(
    "args",
    [
        ["extend", "CLIP", "--seconds", 1, "--prompt", BLOCKED],
        ["remix", "CLIP", BLOCKED],
        ["loop", "CLIP", "--prompt", BLOCKED],
        ["blend", "CLIP", "CLIP", "--prompt", BLOCKED],
        ["recut", "CLIP", "--end", 1, "--extend", 1, "--prompt", BLOCKED],
        ["animate", "STILL", BLOCKED, "--seconds", 1],
    ],
)
def test_every_creative_command_moderates_its_prompt(tmp_path, clip, args):
    still = write_png(tmp_path / "still.png", np.full((64, 64, 3), 90, np.uint8))
    out = tmp_path / "x.mp4"
    result = invoke(*[{"CLIP": clip, "STILL": still}.get(a, a) for a in args], "-o", out)
    assert isinstance(result.exception, ModerationBlocked), result.output
    assert result.exception.category == "extremism" and not out.exists()


def test_storyboard_moderates_every_card(tmp_path):
    board = tmp_path / "board.toml"
    board.write_text(f'seconds = 3\n[[cards]]\nprompt = "a ball"\nstart = 0\n'
                     f'[[cards]]\nprompt = "{BLOCKED}"\nstart = 1.5\n')
    result = invoke("storyboard", board, "-o", tmp_path / "s.mp4")
    assert isinstance(result.exception, ModerationBlocked) and result.exception.param == "cards[1].prompt"
    assert not (tmp_path / "s.mp4").exists()


def test_an_extension_is_signed_marked_and_recorded_as_its_own_generation(tmp_path):
    """verify on an extension finds its own record, its own watermark over the whole clip (kept
    footage included) and a manifest that says it was edited from the source, not the source's
    generation."""
    source = tmp_path / "source.mp4"
    # 128x128: the mark decodes reliably there (64x64 is its documented weak spot).
    assert invoke("generate", "a red ball", "--seconds", 2, "--size", "128x128", "-o", source).exit_code == 0
    out = tmp_path / "extended.mp4"
    result = invoke("extend", source, "--seconds", 1, "--prompt", "it rolls on", "-o", out)
    assert result.exit_code == 0, result.output
    before, after = verify(source, local_record_lookup()), verify(out, local_record_lookup())
    assert after.c2pa.valid and "c2pa.edited" in after.c2pa.actions
    assert after.watermark.found and after.watermark.payload != before.watermark.payload
    assert after.record["id"] != before.record["id"] and "it rolls on" in after.record["prompt"]


@pytest.mark.parametrize(
    ("args", "param"),
    [
        (["generate", "a red ball", "--seconds", "nan"], "--seconds"),
        (["generate", "a red ball", "--seconds", -1], "--seconds"),
        (["generate", "a red ball", "--seconds", 1, "--steps", -3], "--steps"),
        (["generate", "a red ball", "--seconds", 1, "--steps", 0], "--steps"),
        (["generate", "a red ball", "--seconds", 1, "--guidance", "nan"], "--guidance"),
        (["generate", "a red ball", "--seconds", 0.05], "--seconds"),
        (["generate", "a red ball", "--size", "1000x300"], "--size"),  # an aspect the model does not make
        (["image", "a red ball", "-o", "OUT/x.jpg"], "--output"),
        (["generate", "a red ball", "--seconds", 0, "-o", "OUT/x.mp4"], "--output"),
        (["generate", "   ", "--seconds", 1], "prompt"),
        (["generate", "a red ball", "--size", "8x8"], "--size"),
        (["generate", "a red ball", "--size", "8192x8192"], "--size"),
        (["generate", "a red ball", "-o", "OUT/nodir/x.mp4"], "--output"),
        (["generate", "a red ball", "-o", "OUT/x.xyz"], "--output"),
        (["generate", "a red ball", "-o", "OUT"], "--output"),
        (["animate", "STILL", "a ball", "--seconds", "nan"], "--seconds"),
        (["remix", "CLIP", "a ball", "-o", "OUT/x.png"], "--output"),
    ],
)
def test_bad_options_are_refused_before_anything_is_written(tmp_path, clip, args, param):
    still = write_png(tmp_path / "still.png", np.full((64, 64, 3), 90, np.uint8))
    before = sorted(tmp_path.rglob("*"))
    if "-o" not in args:
        args = [*args, "-o", "OUT/x.mp4"]
    args = [{"CLIP": clip, "STILL": still}.get(a, a) for a in args]
    result = invoke(*[str(a).replace("OUT", str(tmp_path)) for a in args])
    assert isinstance(result.exception, InvalidRequest), result.output
    assert result.exception.param == param, result.exception.message
    assert sorted(tmp_path.rglob("*")) == before


def test_a_storyboard_that_is_not_text_names_the_file(tmp_path):
    board = tmp_path / "board.toml"
    board.write_bytes(b"\xff\xfe bad utf8")
    result = invoke("storyboard", board, "-o", tmp_path / "s.mp4")
    assert isinstance(result.exception, InvalidRequest) and result.exception.param == "FILE"


@pytest.mark.parametrize(
    ("board", "param"),
    [
        ('seconds = 2\n[[cards]]\nprompt = "a"\nstart = 0\n[[cards]]\nprompt = "b"\nstart = 0.05\n', "cards[1].start"),
        ('seconds = 2\n[[cards]]\nprompt = "a"\nstart = 0\n[[cards]]\nprompt = "b"\nstart = 1.99\n', "cards[1].start"),
        ('size = "1000x300"\n[[cards]]\nprompt = "a"\nstart = 0\n', "size"),
        ('duration = 4\n[[cards]]\nprompt = "a"\nstart = 0\n', "duration"),
        ('[[cards]]\nprompt = "a"\nstart = 0\nimgae = "x.png"\n', "cards[0].imgae"),
    ],
    ids=["cards-on-one-frame", "card-on-the-last-frame", "aspect-the-model-cannot-make", "unknown-key", "misspelt-card-key"],
)
def test_a_storyboard_the_model_cannot_follow_is_refused_naming_the_field(tmp_path, board, param):
    path = tmp_path / "board.toml"
    path.write_text(board)
    result = invoke("storyboard", path, "-o", tmp_path / "s.mp4")
    assert isinstance(result.exception, InvalidRequest), result.output
    assert result.exception.param == param, result.exception.message
    assert not (tmp_path / "s.mp4").exists()


def test_a_storyboard_saved_with_a_byte_order_mark_reads(tmp_path):
    path = tmp_path / "board.json"
    path.write_bytes("\ufeff".encode() + json.dumps({"seconds": 1, "cards": [{"prompt": "a ball", "start": 0}]}).encode())
    result = invoke("storyboard", path, "-o", tmp_path / "s.mp4")
    assert result.exit_code == 0, result.output
    assert len(frames_of(tmp_path / "s.mp4")) == 8


def test_an_output_where_no_file_can_be_made_is_refused_before_the_model_runs(tmp_path):
    result = invoke("generate", "a red ball", "--seconds", 1, "-o", "/proc/x.mp4")
    assert isinstance(result.exception, InvalidRequest), result.output
    assert result.exception.param == "--output" and "cannot write" in result.exception.message


def test_an_output_that_is_a_directory_is_named_as_one(tmp_path):
    result = invoke("generate", "a red ball", "--seconds", 1, "-o", tmp_path)
    assert isinstance(result.exception, InvalidRequest) and "is a directory" in result.exception.message


def test_a_clip_of_another_aspect_is_extended_whole_between_bars(tmp_path):
    webcam = np.zeros((8, 72, 96, 3), np.uint8)
    webcam[..., 1] = np.linspace(40, 220, 96, dtype=np.uint8)[None, None, :]
    source = write_mp4(tmp_path / "webcam.mp4", webcam, fps=8, crf=0)
    out = tmp_path / "x.mp4"
    result = invoke("extend", source, "--seconds", 1, "-o", out)
    assert result.exit_code == 0, result.output
    made = frames_of(out)
    assert made.shape == (16, 72, 126, 3)  # the model's 7:4, just large enough to hold the 4:3 clip
    assert np.abs(made[0, :, 15:111].astype(int) - webcam[0]).mean() < 6 and made[0, :, :12].max() < 40


def test_a_storyboard_never_writes_over_a_cards_image(tmp_path):
    """`-o` naming a card's still was written over it (only the storyboard file was checked)."""
    board_dir = tmp_path / "sb"
    board_dir.mkdir()
    still = board_dir / "still.mp4"  # a PNG, whatever its name says: read as the still it is
    still.write_bytes(write_png(tmp_path / "still.png", np.full((64, 64, 3), 90, np.uint8)).read_bytes())
    before = still.read_bytes()
    (board_dir / "b.toml").write_text('seconds = 1\n[[cards]]\nprompt = "a ball"\nstart = 0\nimage = "still.mp4"\n')
    result = invoke("storyboard", board_dir / "b.toml", "--steps", 1, "-o", still)
    assert isinstance(result.exception, InvalidRequest), result.output
    assert result.exception.param == "--output" and "destroy the source" in result.exception.message
    assert still.read_bytes() == before


def test_a_cards_image_must_be_a_still(tmp_path, clip):
    """A video as a card's image was taken silently by its first frame."""
    board = tmp_path / "b.toml"
    (tmp_path / "clip.mp4").write_bytes(Path(clip).read_bytes())
    board.write_text('seconds = 1\n[[cards]]\nprompt = "a ball"\nstart = 0\nimage = "clip.mp4"\n')
    result = invoke("storyboard", board, "--steps", 1, "-o", tmp_path / "s.mp4")
    assert isinstance(result.exception, InvalidRequest), result.output
    assert result.exception.param == "cards[0].image"
    assert "PNG, JPEG or WebP" in result.exception.message and "extract a frame" in result.exception.message
    assert not (tmp_path / "s.mp4").exists()


def test_a_storyboard_naming_its_card_video_as_output_exits_2_and_keeps_it(tmp_path, clip, tiny_weights):
    """The audit's case, through the `zoetrope` command: it exited 0 and replaced clip.mp4."""
    import os
    import subprocess
    import sys

    board_dir = tmp_path / "sbdir"
    board_dir.mkdir()
    source = board_dir / "clip.mp4"
    source.write_bytes(Path(clip).read_bytes())
    (board_dir / "b.toml").write_text('seconds = 1\n[[cards]]\nprompt = "a ball"\nstart = 0\nimage = "clip.mp4"\n')
    run = subprocess.run(
        [sys.executable, "-m", "zoetrope", "storyboard", "sbdir/b.toml", "--steps", "1", "-o", "sbdir/clip.mp4"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env={**os.environ, "ZOETROPE_WEIGHTS_DIR": str(tiny_weights)},
    )
    assert run.returncode == 2, run.stderr
    assert "cards[0].image" in run.stderr and "error" in run.stderr
    assert source.read_bytes() == Path(clip).read_bytes() and sorted(p.name for p in board_dir.iterdir()) == [
        "b.toml", "clip.mp4"]


def test_edits_are_signed_as_ai_made_and_name_every_input_they_keep(tmp_path, clip):
    from zoetrope.safety import read_provenance
    from zoetrope.safety.provenance import COMPOSITE_WITH_TRAINED_ALGORITHMIC_MEDIA as COMPOSITE
    from zoetrope.safety.provenance import TRAINED_ALGORITHMIC_MEDIA as TRAINED

    other = write_mp4(tmp_path / "other.mp4", np.full((17, 64, 64, 3), 90, np.uint8), fps=8)
    still = write_png(tmp_path / "still.png", np.full((64, 64, 3), 200, np.uint8))
    cases = {
        "blend": (["blend", clip, other, "--seconds", 1], COMPOSITE, [("clip.mp4", "parentOf"), ("other.mp4", "componentOf")]),
        "extend": (["extend", clip, "--seconds", 1], COMPOSITE, [("clip.mp4", "parentOf")]),
        "remix": (["remix", clip, "a blue ball", "--strength", 0.5], TRAINED, [("clip.mp4", "parentOf")]),
        "animate": (["animate", still, "it bounces", "--seconds", 1], COMPOSITE, [("still.png", "componentOf")]),
    }  # fmt: skip
    for name, (args, source_type, inputs) in cases.items():
        out = tmp_path / f"{name}.mp4"
        result = invoke(*args, "-o", out)
        assert result.exit_code == 0, (name, result.output)
        report = read_provenance(out)
        assert report.state == "trusted" and report.digital_source_type == source_type, (name, report)
        assert [(i.title, i.relationship) for i in report.ingredients] == inputs, (name, report.ingredients)


def test_a_video_is_left_at_the_output_only_signed_and_recorded(tmp_path):
    """A name of 244 bytes (80 CJK characters) is legal; whatever step cannot take it, no unsigned,
    unrecorded video is left under it."""
    out = tmp_path / ("视频" * 40 + ".mp4")
    result = invoke("generate", "a red ball", "--seconds", 1, "-o", out)
    if result.exit_code == 0:
        report = verify(out, local_record_lookup())
        assert report.c2pa.valid and report.record is not None
    else:
        assert not out.exists(), result.output
    files = [p.name for p in tmp_path.iterdir() if p.is_file()]  # no temporary file either
    assert files == ([out.name] if result.exit_code == 0 else [])


@pytest.mark.parametrize(("command", "name"), [("generate", ".mp4"), ("image", ".PNG"), ("extend", ".mov")])
def test_an_output_that_is_only_a_suffix_says_it_has_no_name(tmp_path, clip, command, name):
    args = ["a red ball"] if command != "extend" else [clip]
    result = invoke(command, *args, "-o", tmp_path / name)
    assert isinstance(result.exception, InvalidRequest), result.output
    assert result.exception.param == "--output"
    assert result.exception.message == f"-o {tmp_path / name} has no name before {name}; give one such as " + str(
        tmp_path / f"out{name}"
    )
