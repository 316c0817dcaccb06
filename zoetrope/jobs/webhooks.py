"""Signed webhooks (`video.completed`, `video.failed`) in the Standard Webhooks format.

Events are written to an outbox table in the same transaction that finishes the job, then a
sender loop POSTs them with `webhook-id`, `webhook-timestamp` and `webhook-signature`
(`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, one per secret while a secret is rotated),
retrying with exponential backoff. This is exactly what
`openai.OpenAI().webhooks.unwrap(body, headers, secret=...)` verifies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import re
import secrets
import socket
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from zoetrope.db import transaction
from zoetrope.jobs.models import COMPLETED, Job, WebhookDelivery, now
from zoetrope.jobs.streaks import FailureStreak
from zoetrope.settings import get_settings

log = logging.getLogger(__name__)


# Standard Webhooks' suggested schedule: at once, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h
# after each failure; a receiver may be down for a day and still get every event.
RETRY_DELAYS = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)


@dataclass(frozen=True)
class RetryPolicy:
    delays: tuple[float, ...] = RETRY_DELAYS  # seconds before the 2nd, 3rd, ... attempt
    timeout: float = 10.0  # each connect, write and read of a send
    deadline: float = 30.0  # the whole send: httpx's timeout is per read, and a receiver may drip

    @property
    def hold(self) -> float:
        """Seconds an event is held by the sender sending it: twice the deadline, so that the send and
        what the deadline cannot cut (a DNS lookup, the database write) end before another may take it."""
        return 2 * self.deadline

    @property
    def max_attempts(self) -> int:
        return len(self.delays) + 1

    def delay(self, attempts: int) -> float:
        """Seconds to wait after the `attempts`-th failed attempt."""
        return self.delays[min(max(attempts, 1), len(self.delays)) - 1]


def secret_key(secret: str) -> bytes:
    """The HMAC key of a secret: `whsec_` + base64 (what the `openai` client's `unwrap` takes), or raw text.
    ValueError, saying what is wrong, for one that no receiver could verify with."""
    if not secret.startswith("whsec_"):
        if not secret.strip():
            raise ValueError("the webhook secret is empty; make one with `zoetrope webhooks secret`")
        return secret.encode()
    try:
        key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except ValueError:
        raise ValueError(
            "a whsec_ secret is whsec_ followed by base64 (padding included); make one with "
            "`zoetrope webhooks secret`"
        ) from None
    if len(key) < 16:
        raise ValueError(f"the webhook secret's key is {len(key)} bytes; use at least 16 (`zoetrope webhooks secret`)")
    return key


def signing_secrets(value: str) -> list[str]:
    """The secrets in ZOETROPE_WEBHOOK_SECRET, the current one first: `whsec_` secrets separated by
    spaces or commas (several while receivers move to a new one), or one raw text secret, kept whole."""
    if not value.strip().startswith("whsec_"):
        return [value]
    return list(dict.fromkeys(re.split(r"[\s,]+", value.strip())))


def sign(secret: str, event_id: str, timestamp: int, body: str) -> str:
    """The `webhook-signature` header value for one delivery: one `v1,<signature>` per secret in
    `secret` (see `signing_secrets`), space-separated as Standard Webhooks allows."""
    signed = f"{event_id}.{timestamp}.{body}".encode()
    return " ".join(
        "v1," + base64.b64encode(hmac.new(secret_key(s), signed, hashlib.sha256).digest()).decode()
        for s in signing_secrets(secret)
    )


def _check_secrets(value: str) -> None:
    """ValueError, naming which of several, for a secret in ZOETROPE_WEBHOOK_SECRET no receiver could use."""
    parts = signing_secrets(value)
    for i, part in enumerate(parts, 1):
        try:
            secret_key(part)
        except ValueError as e:
            raise ValueError(f"secret {i} of {len(parts)}: {e}" if len(parts) > 1 else str(e)) from None


def check_url(url: str) -> str:
    """`url` if it is an absolute http(s) URL; ValueError naming the fix otherwise."""
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018  (raises for a port out of range)
    except ValueError:
        raise ValueError(f"{url!r} has a port out of range (1-65535)") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http(s) URL; write it whole, e.g. https://example.com/hooks/zoetrope")
    return url


def check_settings(secret: str | None, url: str | None) -> None:
    """ConfigError naming the variable when the webhook secret or URL could never work: what `serve`
    and `worker`, which send webhooks, check at start (commands that send none never read them)."""
    from zoetrope.errors import ConfigError

    for variable, value, check in (("ZOETROPE_WEBHOOK_SECRET", secret, _check_secrets),
                                   ("ZOETROPE_WEBHOOK_URL", url, check_url)):
        if value is not None:
            try:
                check(value)
            except ValueError as e:
                raise ConfigError(str(e), param=variable) from None


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def unsigned_warning(secret: str | None, url: str | None) -> str | None:
    """What `serve` and `worker` warn at start when they would send events that no receiver can verify."""
    if url and not secret:
        return (
            "Webhooks go to ZOETROPE_WEBHOOK_URL unsigned: set ZOETROPE_WEBHOOK_SECRET "
            "(`zoetrope webhooks secret` makes one) so receivers can verify them"
        )
    return None


_TARGET = "webhook_url"  # the key in a job's params


def record_target(params: dict) -> None:
    """Note in a new job's `params` where its event goes: the submitting process's webhook URL, so
    that a worker without ZOETROPE_WEBHOOK_URL (another machine) still queues the event."""
    if url := get_settings().webhook_url:
        params[_TARGET] = url


def record_event(session: Session, job: Job, url: str | None = None) -> WebhookDelivery | None:
    """Queue the job's `video.completed` / `video.failed` event when it has a webhook URL: `url`, the
    one noted at submit (`record_target`), or else this process's."""
    url = url or (job.params or {}).get(_TARGET) or get_settings().webhook_url
    if not url:
        return None
    event_type = "video.completed" if job.status == COMPLETED else "video.failed"
    event_id = f"evt_{secrets.token_hex(16)}"
    body = json.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": event_type,
            "created_at": int(now()),
            "data": {"id": job.id},
        },
        separators=(",", ":"),
    )
    delivery = WebhookDelivery(event_id=event_id, event_type=event_type, job_id=job.id, url=url, payload=body)
    session.add(delivery)
    return delivery


def _claim_next(engine: Engine, policy: RetryPolicy, tried: set[int]) -> WebhookDelivery | None:
    """The oldest due event, held for this sender while it sends (one at a time, so a slow receiver
    cannot outlast the hold of events still waiting behind it and have them sent twice)."""
    t = now()
    with transaction(engine, immediate=True) as s:
        d = s.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= t)
            .where(WebhookDelivery.seq.not_in(tried))
            .order_by(WebhookDelivery.seq)
            .limit(1)
            .with_for_update(skip_locked=True)
        ).first()
        if d is not None:
            d.next_attempt_at = t + policy.hold  # past the send's deadline
        return d


def refused_destination(url: str, allowed_networks: list[str]) -> str | None:
    """Why an event may not be sent to `url`, or None: every address the host resolves to must be
    public, or inside one of `allowed_networks` (so a webhook cannot reach internal services)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"webhook URL {url!r} is not an http(s) URL"
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return None  # unresolvable now: the send fails and is retried like any network error
    allowed = [ipaddress.ip_network(n, strict=False) for n in allowed_networks]
    for info in infos:
        ip = ipaddress.ip_address(info[4][0].split("%", 1)[0])
        if not ip.is_global and not any(ip in net for net in allowed):
            return (
                f"webhook host {parts.hostname!r} resolves to the non-public address {ip}; "
                "list its network in ZOETROPE_WEBHOOK_ALLOWED_NETWORKS to allow it"
            )
    return None


def deliver_due(
    engine: Engine, client: httpx.Client, secret: str | None, policy: RetryPolicy = RetryPolicy(), limit: int = 64
) -> int:
    """Send each due event once (up to `limit`); returns how many were delivered."""
    delivered, tried = 0, set()
    allowed = get_settings().webhook_allowed_networks
    for _ in range(limit):
        if (d := _claim_next(engine, policy, tried)) is None:
            break
        tried.add(d.seq)
        by = now() + policy.deadline
        ts = int(now())
        headers = {"content-type": "application/json", "webhook-id": d.event_id, "webhook-timestamp": str(ts)}
        try:
            error = refused = refused_destination(check_url(d.url), allowed)
        except ValueError as e:  # a URL no request could go to: given up on at once
            error = refused = str(e)
        if secret and not error:
            try:
                headers["webhook-signature"] = sign(secret, d.event_id, ts, d.payload)
            except ValueError as e:  # a secret no receiver could verify with: retried once it is fixed
                error = f"ZOETROPE_WEBHOOK_SECRET: {e}"
        if not error:
            error = _send(client, d.url, d.payload.encode(), headers, policy, by)
        with transaction(engine, immediate=True) as s:
            row = s.get(WebhookDelivery, d.seq)
            if row is None:
                continue
            row.attempts += 1
            if error is None:
                row.status, row.last_error = "delivered", None
                delivered += 1
            else:
                row.last_error = error
                if refused or row.attempts >= policy.max_attempts:
                    row.status = "failed"
                    log.warning("webhook %s to %s failed for good: %s", d.event_id, d.url, error)
                else:
                    row.next_attempt_at = now() + policy.delay(row.attempts)
    return delivered


def _send(
    client: httpx.Client, url: str, body: bytes, headers: dict, policy: RetryPolicy, by: float
) -> str | None:
    """POST one event; None if the receiver answered 2xx, else what went wrong. httpx's timeout bounds
    each read, not the request: a receiver that drips its answer could hold the send past its claim
    (and have another sender send the event again), so the connection is shut down at `by`."""
    if (seconds := by - now()) <= 0:
        return f"not sent: the send's {policy.deadline:g} s deadline passed before it began"
    lock, sockets, cut = threading.Lock(), [], threading.Event()

    def shut_down() -> None:
        with lock:
            cut.set()
            for sock in sockets:
                _shut(sock)

    def trace(event: str, info: dict) -> None:
        if event != "connection.connect_tcp.complete":
            return
        if (sock := info["return_value"].get_extra_info("socket")) is not None:
            sock = sock.dup()  # a duplicate of its socket, ours to shut down and close
            with lock:
                sockets.append(sock)
                if cut.is_set():
                    _shut(sock)

    timer = threading.Timer(seconds, shut_down)
    timer.start()
    try:  # `connection: close`: each send on a connection of its own, one whose socket `trace` saw
        r = client.post(
            url,
            content=body,
            headers={**headers, "connection": "close"},
            timeout=min(policy.timeout, seconds),
            extensions={"trace": trace},
        )
    except httpx.HTTPError as e:
        if cut.is_set():
            return f"no answer within the send's {policy.deadline:g} s deadline"
        return f"{type(e).__name__}: {e}"
    finally:
        timer.cancel()
        with lock:
            for sock in sockets:
                sock.close()
    return f"HTTP {r.status_code}" if r.status_code >= 300 else None


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)  # wakes the read or write blocked on the connection
    except OSError:
        pass  # already closed


def run_sender(engine: Engine, stop, *, secret: str | None, interval: float = 0.5) -> None:
    """Deliver due webhook events until `stop` (a threading.Event) is set; in a process without
    ZOETROPE_WEBHOOK_URL, none (it was not told to send webhooks, nor perhaps given the secret)."""
    if not get_settings().webhook_url:
        return
    streak = FailureStreak(log, "webhook sender")
    with httpx.Client() as client:
        while not stop.is_set():
            try:
                deliver_due(engine, client, secret)
                streak.succeeded()
            except Exception as e:
                streak.failed(e)
            stop.wait(interval)


def list_deliveries(session: Session, status: str | None = None, limit: int = 50) -> list[WebhookDelivery]:
    """The newest deliveries, of one status (pending, delivered, failed) or all."""
    query = select(WebhookDelivery).order_by(WebhookDelivery.seq.desc()).limit(limit)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    return list(session.scalars(query))


def retry_deliveries(
    session: Session,
    event_ids: list[str] | None = None,
    *,
    url: str | None = None,
    from_url: str | None = None,
) -> int:
    """Queue events to be sent again now, from their first attempt; returns how many were queued.

    Without `url`: the failed events (those named, or every failed one). With `url` (a receiver that
    moved, or a webhook URL that was wrong): the pending events too, all sent to `url` from now on;
    and when no events are named, the videos still queued or running that noted a webhook URL at
    submit send theirs to `url` as well. `from_url`: only what was bound for that URL."""
    statuses = ("failed", "pending") if url else ("failed",)
    query = select(WebhookDelivery).where(WebhookDelivery.status.in_(statuses))
    if event_ids:
        query = query.where(WebhookDelivery.event_id.in_(event_ids))
    if from_url:
        query = query.where(WebhookDelivery.url == from_url)
    rows = list(session.scalars(query))
    t = now()
    for row in rows:
        row.status, row.attempts, row.next_attempt_at = "pending", 0, t
        if url:
            row.url = check_url(url)
    if url and not event_ids:
        _redirect_unfinished(session, check_url(url), from_url)
    return len(rows)


def _redirect_unfinished(session: Session, url: str, from_url: str | None) -> None:
    """Have the queued and running jobs that noted a webhook URL (`record_target`), or `from_url`,
    queue their events for `url`."""
    from zoetrope.jobs.models import IN_PROGRESS, QUEUED

    jobs = session.scalars(select(Job).where(Job.status.in_((QUEUED, IN_PROGRESS)), Job.deleted_at.is_(None)))
    for job in jobs:
        noted = (job.params or {}).get(_TARGET)
        if noted and noted != url and (from_url is None or noted == from_url):
            job.params = {**job.params, _TARGET: url}


def delivery_counts(session: Session, statuses: tuple[str, ...] = ("pending", "delivered", "failed")) -> dict[str, int]:
    """How many deliveries there are of each of `statuses`."""
    from sqlalchemy import func

    rows = session.execute(
        select(WebhookDelivery.status, func.count())
        .where(WebhookDelivery.status.in_(statuses))
        .group_by(WebhookDelivery.status)
    )
    return dict.fromkeys(statuses, 0) | {status: n for status, n in rows}
