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
