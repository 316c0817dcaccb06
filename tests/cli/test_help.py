"""`zoetrope --help`: the commands that make video first, then the rest in panels by what they are for."""

import re

import typer.main
from typer.testing import CliRunner

from zoetrope.cli import app
from zoetrope.cli.numbers import HELP_PANELS


def _help() -> str:
    result = CliRunner().invoke(app, ["--help"], terminal_width=100)
    assert result.exit_code == 0, result.output
    return result.output


def test_commands_are_listed_in_panels_in_order():
    text = _help()
    panels = re.findall(r"╭─ (.+?) ─", text)
    assert panels == ["Options", *HELP_PANELS]
    listed = re.findall(r"^│ ([a-z]+) ", text, flags=re.MULTILINE)
    assert listed == [name for names in HELP_PANELS.values() for name in names]


def test_every_command_has_a_panel():
    # A new command is placed in HELP_PANELS, or it would be listed last under a bare "Commands".
    placed = {name for names in HELP_PANELS.values() for name in names}
    assert set(typer.main.get_command(app).commands) == placed


def test_help_paragraphs_wrap_to_the_terminal():
    # Docstrings are wrapped at the source's width; a help paragraph must not keep those breaks, or a
    # terminal shows a line cut short before each one (remix's, mcp's and verify's did).
    pending = [typer.main.get_command(app)]
    while pending:
        command = pending.pop()
        pending.extend(getattr(command, "commands", {}).values())
        for paragraph in (command.help or "").split("\n\n"):
            assert "\n" not in paragraph, (command.name, paragraph)
    remix = CliRunner().invoke(app, ["remix", "--help"], terminal_width=100).output
    assert "at the last, so a prompt that asks for another motion" in " ".join(remix.split())
    assert re.search(r"the last, so\s*\n", remix) is None, remix
