"""Inputs a user can get wrong are refused before any work, in one line naming the option or file as typed."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from zoetrope.cli import app
from zoetrope.errors import InvalidRequest, ZoetropeError
from zoetrope.media import write_mp4, write_png


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.mark.parametrize(
    ("args", "param", "said"),
    [
        (["recut", "/dev/null", "--end", "1"], "VIDEO", "/dev/null is not a regular file"),
        (["extend", "/dev/null"], "VIDEO", "/dev/null is not a regular file"),
        (["blend", "CLIP", "/dev/null"], "B", "/dev/null is not a regular file"),
        (["animate", "DIR", "it spins"], "IMAGE", "is a directory; give a still image"),
        (["remix", "DIR", "a cube"], "VIDEO", "is a directory; give a video file"),
        (["loop", "EMPTY"], "VIDEO", "empty.mp4 is empty"),
        (["storyboard", "DIR"], "FILE", "is a directory; give a storyboard file"),
        (["extend", "MISSING"], "VIDEO", "nodir/clip.mp4 does not exist"),
    ],
)
def test_an_input_that_is_not_a_media_file_is_named_whole(tmp_path, args, param, said):
    """/dev/null was 'null is empty', a directory 'no such media file'."""
    clip = write_mp4(tmp_path / "clip.mp4", np.zeros((9, 64, 64, 3), np.uint8), fps=8)
    (tmp_path / "empty.mp4").touch()
    files = {
        "CLIP": clip,
        "DIR": tmp_path,
        "EMPTY": tmp_path / "empty.mp4",
        "MISSING": tmp_path / "nodir/clip.mp4",
    }
    result = invoke(*[files.get(a, a) for a in args], "-o", tmp_path / "x.mp4")
    assert isinstance(result.exception, ZoetropeError), result.output
    assert result.exception.param == param and said in result.exception.message, result.exception.message
    assert not (tmp_path / "x.mp4").exists()


def test_a_named_pipe_as_input_is_refused_at_once_not_read_forever(tmp_path):
    fifo = tmp_path / "clip.mp4"
    os.mkfifo(fifo)
    done = subprocess.run(
        [sys.executable, "-m", "zoetrope", "extend", str(fifo), "-o", str(tmp_path / "x.mp4")],
        env={**os.environ, "ZOETROPE_DATA_DIR": str(tmp_path / "data")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"error (VIDEO): {fifo} is not a regular file (a pipe, socket or device); give a video file (MP4)"
    )


def test_a_storyboard_cards_image_that_is_a_device_is_named(tmp_path):
    board = tmp_path / "b.toml"
    board.write_text('[[cards]]\nprompt = "a ball"\nstart = 0\nimage = "/dev/null"\n')
    result = invoke("storyboard", board, "-o", tmp_path / "s.mp4")
    assert isinstance(result.exception, ZoetropeError), result.output
    assert (
        result.exception.param == "cards[0].image"
        and "/dev/null is not a regular file" in result.exception.message
    )


@pytest.mark.parametrize(
    ("args", "param"),
    [
        (["accounts", "create", "carol", "--birth-date", "1990-13-01"], "--birth-date"),
        (["accounts", "create", "carol", "--birth-date", "yesterday"], "--birth-date"),
        (["accounts", "create", "carol", "--seats", "0"], "--seats"),
        (["accounts", "set", "bob", "--birth-date", "2001-02-30"], "--birth-date"),
        (["accounts", "set", "bob", "--seconds-per-day", "-5"], "--seconds-per-day"),
        (["accounts", "set", "bob", "--rpm", "0"], "--rpm"),
        (["accounts", "set", "bob", "--country", "usa"], "--country"),
        (["usage", "--month", "2026-13"], "--month"),
        (["usage", "--by", "week"], "--by"),
    ],
)
def test_an_admin_value_that_cannot_be_stored_names_the_option(args, param):
    """A bad --birth-date or --month was a traceback; `accounts set` named stored fields (quota.seconds_per_day)."""
    assert invoke("accounts", "create", "bob").exit_code == 0
    result = invoke(*args)
    assert isinstance(result.exception, InvalidRequest), result.output
    assert result.exception.param == param, result.exception.message
    assert "quota." not in result.exception.message and "birth_date" not in result.exception.message


@pytest.mark.parametrize(
    ("args", "param"),
    [
        (["eval", "--real", "--split", "test"], "--split"),
        (["eval", "--real", "--out", "TMP"], "--out"),
        (["eval", "--real", "--out", "/proc/results.json"], "--out"),
        (["train", "vae", "--size", "XL", "--out", "TMP/run"], "--size"),
        (["train", "dit", "--device", "gpu", "--out", "TMP/run"], "--device"),
        (["train", "dit", "--vae", "TMP/none.pt", "--out", "TMP/run"], "--vae"),
        (["train", "export", "--vae", "TMP/none.pt", "--dit", "TMP/none.pt", "--out", "TMP/w"], "--vae"),
        (["train", "vae", "--out", "/proc/run"], "--out"),  # a run folder that cannot be made
        (["train", "dit", "--vae", "TMP", "--out", "/proc/run"], "--out"),
    ],
)
def test_a_long_run_with_a_bad_option_stops_before_it_starts(tmp_path, args, param):
    """These were tracebacks, --out's only after the whole bench had run."""
    result = invoke(*[a.replace("TMP", str(tmp_path)) for a in args])
    assert isinstance(result.exception, InvalidRequest), result.output
    assert result.exception.param == param, result.exception.message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["zoetrope-data"] or not (tmp_path / "run").exists()


def test_a_worker_for_an_unknown_model_names_the_option():
    result = invoke("worker", "--model", "nosuch")
    assert isinstance(result.exception, ZoetropeError) and result.exception.param == "--model"


def test_output_piped_to_a_file_holds_the_result_lines_and_no_progress_bar(tmp_path):
    from zoetrope.backends.bundled import write_tiny_random_weights

    weights = write_tiny_random_weights(tmp_path / "weights")
    out = tmp_path / "still.png"
    write_png(out, np.zeros((8, 8, 3), np.uint8))
    env = {**os.environ, "ZOETROPE_DATA_DIR": str(tmp_path / "data"), "ZOETROPE_WEIGHTS_DIR": str(weights)}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "zoetrope",
            "animate",
            str(out),
            "it spins",
            "--seconds",
            "1",
            "--steps",
            "1",
            "-o",
            str(tmp_path / "a.mp4"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split(" (")[0].split(" video_")[0] for line in lines] == [
        f"wrote {tmp_path / 'a.mp4'}",
        "recorded as",
    ]
    assert "━" not in done.stdout + done.stderr and "%" not in done.stdout + done.stderr


def test_an_output_inside_a_file_says_the_file_is_not_a_directory(tmp_path):
    """It was told that the directory does not exist, when a file of that name does."""
    (tmp_path / "clip.mp4").write_bytes(b"x")
    result = invoke("generate", "a ball", "--seconds", "1", "-o", tmp_path / "clip.mp4" / "x.mp4")
    assert isinstance(result.exception, InvalidRequest) and result.exception.param == "--output"
    assert "is a file, not a directory" in result.exception.message
    assert (tmp_path / "clip.mp4").read_bytes() == b"x"


def test_mcp_without_a_key_names_the_option_to_give(monkeypatch):
    monkeypatch.delenv("ZOETROPE_API_KEY", raising=False)
    result = invoke("mcp")
    assert isinstance(result.exception, ZoetropeError) and result.exception.param == "--api-key"


@pytest.mark.parametrize("start", ["1e999", "NaN"])
def test_a_card_that_starts_at_no_finite_second_is_named(tmp_path, start):
    """JSON's 1e999 reads as infinity: the error named `seconds`, a key the file did not have."""
    board = tmp_path / "b.json"
    board.write_text('{"cards": [{"prompt": "a ball", "start": START}]}'.replace("START", start))
    result = invoke("storyboard", board, "-o", tmp_path / "s.mp4")
    assert isinstance(result.exception, InvalidRequest), result.output
    assert result.exception.param == "cards[0].start"


@pytest.mark.parametrize("image", ["5", "true", '["a.png"]'])
def test_a_cards_image_that_is_not_a_file_name_says_so(tmp_path, monkeypatch, image):
    """`image = 5` was read as a file named 5, and refused as missing."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "5").write_bytes(write_png(tmp_path / "s.png", np.zeros((8, 8, 3), np.uint8)).read_bytes())
    board = tmp_path / "b.json"
    board.write_text('{"cards": [{"prompt": "a ball", "start": 0, "image": IMAGE}]}'.replace("IMAGE", image))
    result = invoke("storyboard", board, "-o", tmp_path / "s.mp4")
    assert isinstance(result.exception, InvalidRequest), result.output
    assert result.exception.param == "cards[0].image" and "file name as text" in result.exception.message
    assert not (tmp_path / "s.mp4").exists()


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        (".", ". is a directory; give an MP4, PNG, JPEG or WebP file"),  # was " is a directory"
        ("/dev/null", "/dev/null is not a regular file"),  # was "null is not a regular file"
        ("MISSING", "nodir/clip.mp4 does not exist"),
    ],
)
def test_verify_names_a_file_that_is_not_media_as_typed(tmp_path, monkeypatch, typed, said):
    monkeypatch.chdir(tmp_path)
    typed = str(tmp_path / "nodir/clip.mp4") if typed == "MISSING" else typed
    for json_flag in ([], ["--json"]):
        result = invoke("verify", typed, *json_flag)
        if json_flag:
            assert result.exit_code == 2, result.output
            error = json.loads(result.stdout)["error"]
        else:  # `main` prints it as one line, exit 2
            assert isinstance(result.exception, ZoetropeError), result.output
            error = {"param": result.exception.param, "message": result.exception.message}
        assert error["param"] == "file" and error["message"].startswith(typed) and said in error["message"], error


def test_mcp_with_a_key_that_is_not_one_says_so_in_one_line_before_any_worker_starts(tmp_path):
    env = {**os.environ, "ZOETROPE_DATA_DIR": str(tmp_path), "ZOETROPE_API_KEY": "zk-not-a-key"}
    done = subprocess.run(
        [sys.executable, "-m", "zoetrope", "mcp"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2 and done.stdout == ""  # stdout is the protocol's: nothing else goes there
    assert done.stderr.splitlines() == ["error (--api-key): invalid API key zk-not-a-k...: no such key"], done.stderr


@pytest.mark.parametrize(
    ("args", "param", "what"),
    [
        (["generate", "a \udcff ball"], "PROMPT", "the byte 0xFF, not UTF-8 (character 3)"),  # argv from a Latin-1 terminal
        (["image", "\udce9t\udce9"], "PROMPT", "the byte 0xE9, not UTF-8 (character 1)"),
        (["moderate", "a \udcff ball"], "PROMPT", "the byte 0xFF, not UTF-8 (character 3)"),
        (["animate", "STILL", "it \udcff spins"], "PROMPT", "the byte 0xFF, not UTF-8 (character 4)"),
        (["storyboard", "BOARD"], "cards[1].prompt", "U+D83D, half a pair (character 3)"),
    ],
)
def test_text_that_is_not_unicode_is_named_not_a_traceback(tmp_path, args, param, what):
    still = write_png(tmp_path / "still.png", np.full((64, 64, 3), 90, np.uint8))
    board = tmp_path / "board.json"
    board.write_text('{"cards": [{"prompt": "a ball", "start": 0}, {"prompt": "a \\ud83d ball", "start": 1}]}')
    args = [{"STILL": still, "BOARD": board}.get(a, a) for a in args]
    out = tmp_path / ("x.png" if args[0] == "image" else "x.mp4")
    result = invoke(*args, *(["-o", out] if args[0] != "moderate" else []))
    assert isinstance(result.exception, InvalidRequest), result.output
    assert result.exception.param == param
    assert result.exception.message.startswith(f"the text is not valid Unicode: it holds {what}")
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "param"),
    [
        (["accounts", "grant", "b\udcffb", "5"], "ACCOUNT"),
        (["accounts", "show", "\udcff"], "ACCOUNT"),
        (["usage", "--account", "\udcff"], "--account"),
        (["keys", "list", "--account", "\udcff"], "--account"),
        (["webhooks", "retry", "--url", "https://a\udcff.com/"], "--url"),
        (["worker", "--model", "zoetrope-mini", "--model", "\udcff"], "--model"),
    ],
)
def test_any_text_option_that_is_not_unicode_is_refused_naming_it(args, param):
    """These were a UnicodeEncodeError from the database driver, or a URL stored with the byte in it."""
    result = invoke(*args)
    assert isinstance(result.exception, InvalidRequest), result.output
    assert result.exception.param == param and "not valid Unicode" in result.exception.message


@pytest.mark.parametrize(
    ("command", "param"),
    [("extend", "--prompt"), ("generate", "prompt"), ("image", "prompt"), ("storyboard", "cards[1].prompt")],
)
def test_a_prompt_over_the_apis_limit_is_refused_before_any_work(tmp_path, command, param):
    """4,000 characters, as the API: a 200 KB card was moderated word by word, then cut by the model unsaid."""
    long = "a red ball rolls " * 300  # 5,100 characters
    out = tmp_path / ("o.png" if command == "image" else "o.mp4")
    if command == "extend":
        clip = write_mp4(tmp_path / "clip.mp4", np.full((9, 64, 64, 3), 90, np.uint8), fps=8)
        args = ["extend", clip, "--prompt", long]
    elif command == "storyboard":
        board = tmp_path / "b.json"
        board.write_text(json.dumps({"cards": [{"prompt": "a ball", "start": 0}, {"prompt": long, "start": 1}]}))
        args = ["storyboard", board]
    else:
        args = [command, long]
    result = invoke(*args, "-o", out)
    assert isinstance(result.exception, InvalidRequest), result.output
    assert result.exception.param == param and "the limit is 4,000" in result.exception.message
    assert not out.exists()
