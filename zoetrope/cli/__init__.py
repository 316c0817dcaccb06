"""The `zoetrope` command. Each module in this package adds its own commands to `app`."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from zoetrope.errors import ZoetropeError

app = typer.Typer(
    name="zoetrope",
    help="Zoetrope: text-to-video on your own machine. Generate, train, evaluate, serve.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True)


@app.callback()
def _root() -> None:
    """Zoetrope: text-to-video on your own machine. Generate, train, evaluate, serve."""

# Command modules register themselves on `app` when imported.
from zoetrope.cli import access as _access  # noqa: E402,F401
from zoetrope.cli import engine as _engine  # noqa: E402,F401
from zoetrope.cli import eval as _eval  # noqa: E402,F401
from zoetrope.cli import mcp as _mcp  # noqa: E402,F401
from zoetrope.cli import safety as _safety  # noqa: E402,F401
from zoetrope.cli import serve as _serve  # noqa: E402,F401
from zoetrope.cli import tasks as _tasks  # noqa: E402,F401
from zoetrope.cli import worker as _worker  # noqa: E402,F401


def main() -> None:
    """Entry point: run the CLI, printing domain errors as one clear line instead of a traceback."""
    try:
        app()
    except ZoetropeError as e:
        where = f" ({e.param})" if e.param else ""
        err_console.print(f"[bold red]error[/]{where}: {e.message}")
        sys.exit(2)
