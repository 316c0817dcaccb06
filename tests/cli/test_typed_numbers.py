"""A number typed to any command is plain digits: `1_0`, ` 5`, `١` or `nan` are refused naming the option."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from zoetrope.cli import app
from zoetrope.errors import InvalidRequest


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.mark.parametrize(
    ("args", "param"),
    [
        (["accounts", "grant", "bob", "1_0"], "AMOUNT"),
        (["accounts", "create", "bob", "--seats", "1_0"], "--seats"),
        (["accounts", "set", "bob", "--rpm", "6_0"], "--rpm"),
        (["accounts", "set", "bob", "--seconds-per-day", "inf"], "--seconds-per-day"),
        (["keys", "create", "--account", "bob", "--rpm", " 5"], "--rpm"),
        (["keys", "create", "--account", "bob", "--seconds-per-day", "1_0.5"], "--seconds-per-day"),
        (["webhooks", "list", "--limit", "1_0"], "--limit"),
        (["generate", "a ball", "--seed", "1_0"], "--seed"),
        (["generate", "a ball", "--seconds", "\u0661"], "--seconds"),  # ARABIC-INDIC DIGIT ONE
        (["generate", "a ball", "--guidance", "1e999"], "--guidance"),
        (["extend", "clip.mp4", "--steps", "2_0"], "--steps"),
        (["serve", "--port", "8_000"], "--port"),
        (["worker", "-n", "1_0"], "--workers"),
        (["eval", "--n", "6_4"], "--n"),
        (["train", "vae", "--steps", "1_0"], "--steps"),
        (["train", "dit", "--lr", "1_0"], "--lr"),
    ],
)
def test_a_number_python_would_stretch_to_read_is_refused(tmp_path, args, param):
    result = invoke(*args)
    assert isinstance(result.exception, InvalidRequest), result.output
    assert result.exception.param == param, result.exception.message
    assert repr(args[-1]) in result.exception.message and "digits" in result.exception.message


def test_an_amount_past_what_the_ledger_holds_is_refused_not_a_traceback():
    result = invoke("accounts", "grant", "bob", "99999999999999999999999")
    assert isinstance(result.exception, InvalidRequest) and result.exception.param == "AMOUNT"
    assert "too large" in result.exception.message


def test_plain_numbers_still_read_and_a_negative_grant_removes_credits():
    assert invoke("accounts", "create", "bob", "--seats", "2").exit_code == 0
    before = int(invoke("accounts", "grant", "bob", "1").stdout.split()[1]) - 1  # the plan's monthly credits
    assert invoke("accounts", "grant", "bob", "10").stdout.strip() == f"bob: {before + 11} credits"
    assert invoke("accounts", "grant", "bob", "--", "-3").stdout.strip() == f"bob: {before + 8} credits"
    assert invoke("accounts", "set", "bob", "--seconds-per-day", "1.5e2", "--rpm", "+7").exit_code == 0


def test_the_refusal_is_one_line_and_exit_2(tmp_path):
    env = {**os.environ, "ZOETROPE_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "zoetrope", "accounts", "grant", "bob", "1_0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines() == [
        "error (AMOUNT): AMOUNT '1_0' is not a whole number; type digits only, such as 10"
    ]


@pytest.mark.parametrize(
    ("args", "param", "takes"),
    [
        (["generate", "a ball", "--steps", "0"], "--steps", "from 1 to 1000, or leave --steps out"),
        (["generate", "a ball", "--steps", "100000"], "--steps", "from 1 to 1000, or leave --steps out"),
        (["image", "a ball", "--steps", "1001"], "--steps", "from 1 to 1000, or leave --steps out"),
        (["extend", "clip.mp4", "--steps", "0"], "--steps", "from 1 to 1000, or leave --steps out"),
        (["generate", "a ball", "--seed", "-5"], "--seed", "of 0 or more (the default is 0)"),
        (["remix", "clip.mp4", "a ball", "--seed", "-1"], "--seed", "of 0 or more (the default is 0)"),
        (["generate", "a ball", "--guidance", "-1"], "--guidance", "of 0 or more (the default is 4)"),
        (["eval", "--steps", "5000"], "--steps", "from 1 to 1000, or leave --steps out"),
        (["serve", "--port", "99999"], "--port", "from 1 to 65535, or leave --port out"),
        (["worker", "-n", "0"], "--workers", "of 1 or more, or leave --workers out"),
        (["train", "vae", "--steps", "0"], "--steps", "of 1 or more (the default is 4000)"),
        (["train", "dit", "--varied-captions", "2"], "--varied-captions", "from 0 to 1 (the default is 0)"),
        (["train", "dit", "--time-mean", "-4"], "--time-mean", "from -3 to 3 (the default is 0)"),
        (["webhooks", "list", "--limit", "100000000"], "--limit", "from 1 to 10000 (the default is 50)"),
    ],
)
def test_a_number_out_of_the_options_range_is_refused_naming_the_range(args, param, takes):
    result = invoke(*args)
    assert isinstance(result.exception, InvalidRequest), result.output
    assert result.exception.param == param, result.exception.message
    assert result.exception.message == f"{param} {args[-1]} is out of range; give a " + (
        "number " if param in ("--guidance", "--varied-captions", "--time-mean") else "whole number "
    ) + takes


def test_a_range_refusal_is_one_line_before_anything_runs(tmp_path):
    env = {**os.environ, "ZOETROPE_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "zoetrope", "generate", "a ball", "--steps", "100000", "-o", str(tmp_path / "a.mp4")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and done.stdout == "" and not (tmp_path / "a.mp4").exists()
    assert done.stderr.splitlines() == [
        "error (--steps): --steps 100000 is out of range; give a whole number from 1 to 1000, or leave --steps out"
    ]
