"""Service commands make torch's thread team sleep between parallel regions, unless told otherwise."""

import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from zoetrope.cli import app


@pytest.mark.parametrize("command", ["serve", "worker", "mcp"])
def test_service_commands_set_a_passive_wait_policy(monkeypatch, command):
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    CliRunner().invoke(app, [command, "--help"])
    assert os.environ.get("OMP_WAIT_POLICY") == "PASSIVE"


def test_one_shot_commands_leave_it_alone(monkeypatch):
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    CliRunner().invoke(app, ["generate", "--help"])
    assert "OMP_WAIT_POLICY" not in os.environ


def test_a_policy_the_user_chose_is_kept(monkeypatch):
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    CliRunner().invoke(app, ["serve", "--help"])
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE"


def test_no_command_loads_torch_before_the_policy_is_set():
    probe = "import sys, zoetrope.cli; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
