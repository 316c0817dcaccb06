"""Signed webhooks (`video.completed`, `video.failed`) in the Standard Webhooks format.

Events are written to an outbox table in the same transaction that finishes the job, then a
sender loop POSTs them with `webhook-id`, `webhook-timestamp` and `webhook-signature`
(`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`), retrying with exponential backoff. This is
exactly what `openai.OpenAI().webhooks.unwrap(body, headers, secret=...)` verifies.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
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


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    first_delay: float = 1.0  # seconds; doubles each attempt
    max_delay: float = 600.0
    timeout: float = 10.0

    def delay(self, attempts: int) -> float:
        return min(self.max_delay, self.first_delay * 2 ** max(0, attempts - 1))


def sign(secret: str, event_id: str, timestamp: int, body: str) -> str:
    """The `webhook-signature` header value for one delivery."""
    key = base64.b64decode(secret.removeprefix("whsec_")) if secret.startswith("whsec_") else secret.encode()
    digest = hmac.new(key, f"{event_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def record_event(session: Session, job: Job, url: str | None = None) -> WebhookDelivery | None:
    """Queue the job's `video.completed` / `video.failed` event when a webhook URL is configured."""
    url = url or get_settings().webhook_url
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


def _claim_due(engine: Engine, policy: RetryPolicy, limit: int = 16) -> list[WebhookDelivery]:
    t = now()
    with transaction(engine, immediate=True) as s:
        due = s.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= t)
            .order_by(WebhookDelivery.seq)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        for d in due:  # hold them while we send, so another sender does not send them too
            d.next_attempt_at = t + policy.timeout * 2
        return list(due)


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
    engine: Engine, client: httpx.Client, secret: str | None, policy: RetryPolicy = RetryPolicy()
) -> int:
    """Send every due event once; returns how many were delivered."""
    delivered = 0
    allowed = get_settings().webhook_allowed_networks
    for d in _claim_due(engine, policy):
        ts = int(now())
        headers = {"content-type": "application/json", "webhook-id": d.event_id, "webhook-timestamp": str(ts)}
        if secret:
            headers["webhook-signature"] = sign(secret, d.event_id, ts, d.payload)
        error = refused = refused_destination(d.url, allowed)
        try:
            r = (
                None
                if refused
                else client.post(d.url, content=d.payload.encode(), headers=headers, timeout=policy.timeout)
            )
            if r is not None and r.status_code >= 300:
                error = f"HTTP {r.status_code}"
        except httpx.HTTPError as e:
            error = f"{type(e).__name__}: {e}"
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


def run_sender(engine: Engine, stop, *, secret: str | None, interval: float = 0.5) -> None:
    """Deliver due webhook events until `stop` (a threading.Event) is set."""
    streak = FailureStreak(log, "webhook sender")
    with httpx.Client() as client:
        while not stop.is_set():
            try:
                deliver_due(engine, client, secret)
                streak.succeeded()
            except Exception as e:
                streak.failed(e)
            stop.wait(interval)
