"""`zoetrope webhooks`: make a signing secret, see deliveries, and send failed ones again."""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from zoetrope.cli import app
from zoetrope.cli.access import _engine, _table, console
from zoetrope.errors import InvalidRequest

webhooks_app = typer.Typer(help="Webhooks: a new secret, deliveries, retries.", no_args_is_help=True)
app.add_typer(webhooks_app, name="webhooks")

STATUSES = ("pending", "delivered", "failed")


@webhooks_app.command("secret")
def webhooks_secret() -> None:
    """Print a new signing secret (whsec_ + 32 random bytes) for ZOETROPE_WEBHOOK_SECRET."""
    from zoetrope.jobs.webhooks import new_secret

    typer.echo(new_secret())


@webhooks_app.command("list")
def webhooks_list(
    status: str = typer.Option(None, help="pending, delivered or failed (default: all)"),
    limit: int = typer.Option(50, min=1, max=10_000, help="newest first"),
) -> None:
    """The newest webhook deliveries: event, video, status, attempts and the last error."""
    from zoetrope.db import transaction
    from zoetrope.jobs.webhooks import delivery_counts, list_deliveries

    if status is not None and status not in STATUSES:
        raise InvalidRequest(f"--status {status!r}: use one of {', '.join(STATUSES)}", param="--status")
    with transaction(_engine()) as s:
        rows, counts = list_deliveries(s, status, limit), delivery_counts(s)
        table = _table("event", "type", "video", "status", "attempts", "next attempt", "last error")
        for d in rows:
            due = "" if d.status != "pending" else datetime.fromtimestamp(d.next_attempt_at, UTC).strftime("%F %T")
            table.add_row(d.event_id, d.event_type, d.job_id, d.status, str(d.attempts), due, d.last_error or "")
    console.print(table)
    typer.echo(", ".join(f"{n} {k}" for k, n in counts.items()))


@webhooks_app.command("retry")
def webhooks_retry(
    event_ids: list[str] = typer.Argument(
        None, help="events to send again (default: every failed one; with --url, every undelivered one)"
    ),
    url: str = typer.Option(
        None,
        help="send them to this URL instead: failed and pending events alike, and the events of videos "
        "still queued or running (a receiver that moved, or a wrong ZOETROPE_WEBHOOK_URL: fix that too)",
    ),
    from_url: str = typer.Option(None, "--from-url", help="only events bound for this URL"),
) -> None:
    """Send failed deliveries again, from their first attempt, by the running server's senders.

    After fixing a wrong ZOETROPE_WEBHOOK_URL, move what is still undelivered to the right one:

        zoetrope webhooks retry --url https://example.com/hooks/zoetrope
    """
    from zoetrope.db import transaction
    from zoetrope.jobs.webhooks import check_url, retry_deliveries

    try:
        if url is not None:
            check_url(url)  # checked whether or not anything has failed yet
    except ValueError as e:
        raise InvalidRequest(str(e), param="--url") from None
    if from_url is not None and url is None:
        raise InvalidRequest(
            "--from-url says which events to move: give --url, where to move them, too", param="--from-url"
        )
    with transaction(_engine(), immediate=True) as s:
        queued = retry_deliveries(s, event_ids or None, url=url, from_url=from_url)
        if event_ids and queued < len(set(event_ids)):  # raising here rolls the whole retry back
            kind = "undelivered" if url else "failed"
            raise InvalidRequest(
                f"{len(set(event_ids)) - queued} of the events named are not {kind} ones"
                + (f" bound for {from_url}" if from_url else "")
                + f" (see `zoetrope webhooks list --status {'pending' if url else 'failed'}`); "
                "nothing was queued",
                param="EVENT_IDS",
            )
    typer.echo(
        f"queued {queued} event{'s' if queued != 1 else ''} to be sent again" + (f" to {url}" if url else "")
    )
