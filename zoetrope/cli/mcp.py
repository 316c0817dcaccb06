"""`zoetrope mcp`: the MCP server over stdio, for chat assistants that launch it."""

from __future__ import annotations

import typer

from zoetrope.cli import app
from zoetrope.errors import AuthenticationFailed
from zoetrope.settings import get_settings


@app.command()
def mcp(
    api_key: str = typer.Option(
        None,
        envvar="ZOETROPE_API_KEY",
        show_envvar=True,
        help="the zk-... key whose account the calls run as",
    ),
    public_url: str = typer.Option(
        None,
        envvar="ZOETROPE_PUBLIC_URL",
        show_envvar=True,
        help="root URL of a `zoetrope serve` on the same data, for download links (e.g. http://127.0.0.1:8000)",
    ),
    workers: int = typer.Option(
        None,
        min=0,
        help="workers, in a child process (default ZOETROPE_WORKERS or 1); 0 leaves jobs to a `zoetrope serve` on the same data",
    ),
) -> None:
    """Serve Zoetrope's tools to a chat assistant over MCP (stdio).

    Tools: generate_video, generate_image, animate_image, extend_video, remix_video, get_video,
    list_videos, verify_media. The same plans, moderation and credits apply as through the API.
    """
    if not api_key:
        raise AuthenticationFailed("set ZOETROPE_API_KEY (or --api-key) to a zk-... key", param="--api-key")
    s = get_settings()
    from zoetrope.jobs.runtime import open_runtime
    from zoetrope.mcp.stdio import run_stdio

    runtime = open_runtime(s)
    _check_key(runtime, api_key)  # before any worker starts: a bad key is one line, not a start and a stop
    from zoetrope.jobs.webhooks import unsigned_warning

    if warning := unsigned_warning(s.webhook_secret, s.webhook_url):  # stderr: stdout carries the protocol
        typer.echo(warning, err=True)
    count = s.workers if workers is None else workers
    if count:
        runtime.start(count, webhook_secret=s.webhook_secret)
    try:
        run_stdio(runtime, api_key, public_url)
    finally:
        runtime.shutdown()


def _check_key(runtime, api_key: str) -> None:
    """Refuse a key that is not a live key of this data's accounts, naming the option."""
    from zoetrope.api.deps import new_principal_cache

    try:
        new_principal_cache().get(runtime.engine, api_key)
    except AuthenticationFailed as e:
        raise AuthenticationFailed(e.message, param="--api-key") from None
