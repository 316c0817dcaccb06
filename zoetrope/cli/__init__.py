"""The `zoetrope` command. Each module in this package adds its own commands to `app`."""

from __future__ import annotations

import os
import signal
import sys
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from zoetrope.cli.numbers import ZoetropeGroup
from zoetrope.errors import ZoetropeError

if TYPE_CHECKING:
    from pydantic import ValidationError
    from rich.progress import Progress

app = typer.Typer(
    name="zoetrope",
    cls=ZoetropeGroup,
    help="Zoetrope: text-to-video on your own machine. Generate, train, evaluate, serve.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True, soft_wrap=True)  # one error, one line: greppable in logs


def progress_bar(*columns) -> Progress:
    """A progress bar on stderr, drawn only where a person watches a terminal: a pipe or a log gets
    the command's result lines, not a bar frozen at its last state."""
    from rich.progress import Progress

    console = Console(stderr=True)
    return Progress(*columns, console=console, disable=not console.is_terminal)


# Commands that serve requests while they render: there torch's OpenMP team shares the cores with
# the API, and a team that spins between parallel regions (OpenMP's default) made a sampling window
# 2.7x slower beside busy cores, against 1.3x slower for a sleeping one alone (bench/contention.py).
# One-shot commands (generate, train, eval) usually own the machine and keep spinning.
SERVICES = frozenset({"serve", "worker", "mcp"})


@app.callback()
def _root(ctx: typer.Context) -> None:
    """Zoetrope: text-to-video on your own machine. Generate, train, evaluate, serve."""
    from zoetrope.settings import unknown_variables

    if "ZOETROPE_WAKE_FD" not in os.environ:  # serve's worker child: serve has said so already
        for name, close in unknown_variables(os.environ):
            hint = f"did you mean {close}? " if close else ""
            err_console.print(
                f"[bold yellow]warning[/] ({name}): not a Zoetrope setting; {hint}it is ignored"
            )
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
from zoetrope.cli import webhooks as _webhooks  # noqa: E402,F401
from zoetrope.cli import worker as _worker  # noqa: E402,F401


def main() -> None:
    """Entry point: run the CLI, printing domain errors as one clear line instead of a traceback."""
    from pydantic import ValidationError
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
    except ModuleNotFoundError as e:  # SQLAlchemy importing a driver we do not ship (psycopg2, MySQLdb)
        if _database_supported():
            raise
        err_console.print(f"[bold red]error[/] (ZOETROPE_DATABASE_URL): {_database_problem(e)}")
        sys.exit(2)
    except OSError as e:  # the data directory, met by a command that does not check it first
        from zoetrope.jobs.runtime import data_dir_problem
        from zoetrope.settings import get_settings

        data_dir = get_settings().data_dir
        if not e.filename or not str(e.filename).startswith(str(data_dir)):
            raise
        err_console.print(f"[bold red]error[/] (ZOETROPE_DATA_DIR): {data_dir_problem(data_dir, e)}")
        sys.exit(2)
    except ValidationError as e:
        if e.title != "Settings":
            raise
        for variable, problem in settings_problems(e):
            err_console.print(f"[bold red]error[/] ({variable}): {problem}")
        sys.exit(2)


def settings_problems(e: ValidationError) -> list[tuple[str, str]]:
    """Each rejected `ZOETROPE_*` variable with what is wrong with it (its value, where that helps)."""
    problems = []
    for err in e.errors(include_url=False):
        field = str(err["loc"][0]) if err["loc"] else ""
        message = err["msg"].removeprefix("Value error, ")
        got = "" if err["type"].startswith("value_error") else f" (got {str(err.get('input'))[:80]!r})"
        problems.append((f"ZOETROPE_{field.upper()}", message + got))
    return problems


# The SQLAlchemy drivers Zoetrope ships, and how to write a URL for them.
_SUPPORTED_DRIVERS = frozenset({"sqlite", "sqlite+pysqlite", "postgresql+psycopg"})
_SUPPORTED_URLS = "sqlite:///PATH or postgresql+psycopg://user@host:port/database"


def _database_supported() -> bool:
    """Whether the database URL names a driver Zoetrope ships (an unparseable one counts as supported)."""
    from sqlalchemy.engine import make_url

    from zoetrope.settings import get_settings

    try:
        return make_url(get_settings().resolved_database_url).drivername in _SUPPORTED_DRIVERS
    except Exception:
        return True


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
    if not _database_supported():
        return f"{shown}: not a supported database; write the URL as {_SUPPORTED_URLS}"
    reason = str(getattr(e, "orig", None) or e).strip().splitlines()[0]
    return f"cannot use the database at {shown}: {reason}"
