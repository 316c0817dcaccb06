"""The `zoetrope` command. Each module in this package adds its own commands to `app`."""

from __future__ import annotations

import os
import signal
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
err_console = Console(stderr=True, soft_wrap=True)  # one error, one line: greppable in logs


# Commands that serve requests while they render: there torch's OpenMP team shares the cores with
# the API, and a team that spins between parallel regions (OpenMP's default) made a sampling window
# 2.7x slower beside busy cores, against 1.3x slower for a sleeping one alone (bench/contention.py).
# One-shot commands (generate, train, eval) usually own the machine and keep spinning.
SERVICES = frozenset({"serve", "worker", "mcp"})


@app.callback()
def _root(ctx: typer.Context) -> None:
    """Zoetrope: text-to-video on your own machine. Generate, train, evaluate, serve."""
    if ctx.invoked_subcommand in SERVICES:
        # Read when torch loads, which no command has done yet; OMP_WAIT_POLICY=ACTIVE keeps spinning.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    else:
        # SIGTERM (`kill`, `timeout`) ends a one-shot command the way Ctrl-C does, unwinding through
        # its cleanups, so no half-written temporary output is left beside the file asked for.
        signal.signal(signal.SIGTERM, _terminated)


def _terminated(signum: int, _frame) -> None:
    raise SystemExit(128 + signum)


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
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

    try:
        app()
    except ZoetropeError as e:
        where = f" ({e.param})" if e.param else ""
        err_console.print(f"[bold red]error[/]{where}: {e.message}")
        sys.exit(2)
    except (OperationalError, ArgumentError, NoSuchModuleError) as e:
        err_console.print(f"[bold red]error[/] (ZOETROPE_DATABASE_URL): {_database_problem(e)}")
        sys.exit(2)


def _database_problem(e: Exception) -> str:
    """What is wrong with the database a command was given, in one line, with the fix."""
    from sqlalchemy.engine import make_url

    from zoetrope.settings import get_settings

    url = get_settings().resolved_database_url
    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except Exception:
        shown = url
    if url.startswith(("postgres://", "postgresql://")):
        return f"{shown}: write the URL as postgresql+psycopg://user@host:port/database (psycopg 3)"
    reason = str(getattr(e, "orig", None) or e).strip().splitlines()[0]
    return f"cannot use the database at {shown}: {reason}"
