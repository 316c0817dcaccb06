"""`zoetrope serve`: the API, the studio and workers, in one command (the workers in a child process)."""

from __future__ import annotations

import contextlib
import logging
import signal

import typer
from rich.console import Console

from zoetrope.cli import app
from zoetrope.errors import ConfigError
from zoetrope.settings import get_settings

console = Console()


def _first_run_key(runtime) -> str | None:
    """On a database with no API keys, make a local account and print its key once."""
    from sqlalchemy import func, select

    from zoetrope.access import grants
    from zoetrope.access.accounts import create_account, find_account
    from zoetrope.access.keys import create_key
    from zoetrope.access.models import ApiKey
    from zoetrope.access.usage import today_utc
    from zoetrope.config import get_config
    from zoetrope.db import transaction

    with transaction(runtime.engine, immediate=True) as s:
        if s.scalar(select(func.count()).select_from(ApiKey)):
            return None
        account = find_account(s, "local") or create_account(s, "local", plan="pro")
        # This month's credits now, as sign-up does, so the first page shows them (not 0).
        grants.ensure_monthly_grant(s, account, get_config().plan(account.plan), today_utc())
        _, token = create_key(s, account.id, name="local")
        return token


def _mount_studio(web) -> None:
    try:
        import zoetrope.web as studio
    except ImportError:
        return
    mount = getattr(studio, "mount", None)
    if mount is not None:
        mount(web)


def _warm_up() -> None:
    """Build prompt moderation (the text encoder and the policy's exemplar embeddings) in the
    background, so the first request does not pay for it (seconds, minutes on a starved machine);
    then keep what is loaded out of the garbage collector's passes (`zoetrope.heap`)."""
    import threading

    from zoetrope.heap import settle
    from zoetrope.safety import check_prompt

    def warm() -> None:
        check_prompt("warm up")
        settle()

    threading.Thread(target=warm, name="warm-up", daemon=True).start()


def check_bindable(host: str, port: int, *, option: str = "--port / ZOETROPE_PORT") -> None:
    """Refuse at once, before anything starts, a host and port this process cannot listen on."""
    import errno
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (socket.gaierror, UnicodeError) as e:
        raise ConfigError(f"cannot listen on {host!r}: {e}; give an address of this machine",
                          param="--host / ZOETROPE_HOST") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server itself will
        try:
            probe.bind(address)
        except OSError as e:
            if e.errno == errno.EADDRNOTAVAIL:  # the address is not this machine's
                raise ConfigError(f"cannot listen on {host}: {e.strerror}; give an address of this machine",
                                  param="--host / ZOETROPE_HOST") from None
            raise ConfigError(f"cannot listen on {host}:{port}: {e.strerror or e}; pick another port",
                              param=option) from None


def _stop_serving(_signum: int, _frame) -> None:
    raise SystemExit(0)


def _finish_children(runtime) -> None:
    """Say that the worker child is finishing its running jobs; another SIGTERM or Ctrl-C has it
    give them back to the queue and stop at once (as `zoetrope worker` does)."""
    if not any(child.process.poll() is None for child in runtime.children):
        return

    def hurry(*_) -> None:
        for child in runtime.children:
            child.hurry()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, hurry)
    console.print("stopping: the workers finish their running jobs; SIGTERM or Ctrl-C again stops them now "
                  "and gives the jobs back to the queue", soft_wrap=True)


@app.command()
def serve(
    host: str = typer.Option(None, help="interface to bind (default ZOETROPE_HOST or 127.0.0.1)"),
    port: int = typer.Option(None, min=1, max=65535, help="port (default ZOETROPE_PORT or 8000)"),
    workers: int = typer.Option(
        None, min=0, help="workers, in a child process (default ZOETROPE_WORKERS or 1; 0 for API only)"
    ),
) -> None:
    """Run the API, the studio and workers on this machine: no other service needed."""
    host, port = host or get_settings().host, port or get_settings().port
    check_bindable(host, port)
    import os
    import shutil
    from pathlib import Path

    from zoetrope.jobs.children import share_metrics
    from zoetrope.jobs.runtime import check_data_dir

    s = get_settings()
    check_data_dir(s.data_dir)
    metrics_dir = share_metrics(s.data_dir)  # before prometheus_client is imported

    import uvicorn

    from zoetrope import heap
    from zoetrope.api import Services, create_app
    from zoetrope.jobs import activity, moderation
    from zoetrope.jobs.runtime import open_runtime
    from zoetrope.jobs.webhooks import unsigned_warning
    from zoetrope.mcp import videos as mcp_videos
    from zoetrope.safety.keys import signing_identity, trust_anchor

    heap.watch()
    logging.getLogger("mcp").setLevel(logging.WARNING)  # its INFO lines ("session manager started") are noise here
    runtime = open_runtime(s)
    count = s.workers if workers is None else workers
    # Signing files that do not lead to their root are refused now, not at the first video's end;
    # an API alone needs only the root to check files against.
    if count:
        signing_identity()
    else:
        trust_anchor()
    if count:  # the workers' child serves every model: say now which of them cannot run here
        ready, missing = runtime.registry.servable(runtime.registry.model_names())
        for name, why in missing.items():
            console.print(f"not serving {name} here: {why}", style="yellow", soft_wrap=True)
        if not ready:
            raise ConfigError("no model can run on this machine (see above): fix that, or run "
                              "`zoetrope serve --workers 0` for the API alone, with workers where the weights are")
    token = _first_run_key(runtime)
    # Only once every startup check has passed: the child's start loads the text encoder in a
    # thread, and a process that exits while torch is mid-load there aborts instead of exiting 2.
    if s.moderation_process:
        moderation.use_process()
    web = create_app(Services(runtime.engine, runtime.registry, runtime.blobs, runtime.policy))
    _mount_studio(web)
    # The worker child's renders give way while this process answers requests (`activity`).
    requests = activity.Activity(Path(s.data_dir) / "run" / f"activity-{os.getpid()}")
    os.environ[activity.ENV] = str(requests.path)
    runtime.start(count, webhook_secret=s.webhook_secret)
    _warm_up()
    console.print(f"Zoetrope API on http://{host}:{port}/v1 with {count} worker(s); data in {s.data_dir}",
                  soft_wrap=True)
    console.print(f"Studio on http://{host}:{port}/ (sign in with an API key or an email and password)",
                  soft_wrap=True)
    if warning := unsigned_warning(s.webhook_secret, s.webhook_url):
        console.print(warning, style="yellow")
    if token:
        console.print("First run: created account 'local' (plan pro) with this API key, shown once:")
        console.print(f"  OPENAI_BASE_URL=http://{host}:{port}/v1 OPENAI_API_KEY={token}", soft_wrap=True)
    else:
        console.print("More keys: zoetrope keys create --account NAME (each is shown once)", style="dim",
                      soft_wrap=True)
    # uvicorn stops on SIGTERM, then raises it again once it has restored this handler: unwind
    # through the cleanup below (the worker child finishes its jobs) instead of dying there.
    signal.signal(signal.SIGTERM, _stop_serving)
    try:
        app = activity.ActivityMiddleware(web, requests)
        server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False))
        # Calls cancelled once serving stops were not cancelled by their clients: their jobs stay.
        mcp_videos.shutting_down = lambda: bool(server.should_exit)
        with contextlib.suppress(KeyboardInterrupt):
            server.run()
        if not server.started:
            raise typer.Exit(3)  # uvicorn has said why
    finally:
        _finish_children(runtime)
        moderation.stop_process()
        runtime.shutdown()
        requests.path.unlink(missing_ok=True)
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)
