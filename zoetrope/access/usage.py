"""Usage metering (requests, seconds generated, credits) and quotas per key and per account."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta

from pydantic import ValidationError
from sqlalchemy import case, func, insert, select
from sqlalchemy.orm import Session

from zoetrope.access.models import Account, Charge, PlanChange, UsageEvent, utcnow
from zoetrope.config import Config, Plan, Quota
from zoetrope.db import Prepared
from zoetrope.errors import InvalidRequest, QuotaExceeded

MINUTE, DAY = timedelta(minutes=1), timedelta(days=1)


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)  # SQLite hands back naive UTC


def _retry_after(oldest: datetime | None, window: timedelta, now: datetime) -> int:
    if oldest is None:
        return 1
    return max(1, int((_aware(oldest) + window - now).total_seconds() + 0.999))


def checked_quota(quota: dict | None) -> dict | None:
    """`quota` as an account or key stores it: only `Quota`'s fields, each within its bounds, so
    that no stored override can break a later request; a 400 naming the field otherwise."""
    if quota is None:
        return None
    if not isinstance(quota, dict):
        raise InvalidRequest('quota must be an object such as {"requests_per_minute": 60}', param="quota")
    unknown = sorted(set(quota) - set(Quota.model_fields))
    if unknown:
        raise InvalidRequest(
            f"quota has no field {unknown[0]!r}; it takes {', '.join(Quota.model_fields)}",
            param=f"quota.{unknown[0]}",
        )
    try:
        return Quota.model_validate(quota).model_dump(exclude_none=True)
    except ValidationError as e:
        first = e.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise InvalidRequest(f"quota.{field}: {first['msg']}", param=f"quota.{field}") from None


def max_chars(column) -> int:
    """The most characters the String(n) `column` (a mapped attribute, `ApiKey.name`) stores."""
    return column.property.columns[0].type.length


def checked_text(value: str, column, param: str) -> str:
    """`value` if `column` can store it: at most its `max_chars`, and no NUL (PostgreSQL's text cannot
    hold one) or lone surrogate (nor can its UTF-8); a 400 naming `param` and the limit otherwise, before
    anything is written, where the database would fail (PostgreSQL) or keep it whole (SQLite)."""
    limit = max_chars(column)
    if len(value) > limit:
        raise InvalidRequest(
            f"{param} is {len(value):,} characters; the limit is {limit:,}: shorten it", param=param
        )
    if "\x00" in value:
        raise InvalidRequest(f"{param} holds a NUL character (U+0000); remove it", param=param)
    try:
        value.encode()
    except UnicodeEncodeError:
        raise InvalidRequest(
            f"{param} is not valid Unicode text: it holds a lone surrogate (U+D800-U+DFFF)", param=param
        ) from None
    return value


def effective_quota(plan: Plan, override: dict | None) -> Quota:
    """The account's quota: the plan's, with the account's own fields on top."""
    return plan.quota.model_copy(update={k: v for k, v in (override or {}).items() if v is not None})


def _check_requests(session: Session, column, value: str, limit: int | None, who: str, now: datetime) -> None:
    if limit is None:
        return
    since = now - MINUTE
    where = (column == value, UsageEvent.kind == "request", UsageEvent.created_at > since)
    count, oldest = session.execute(select(func.count(), func.min(UsageEvent.created_at)).where(*where)).one()
    if count >= limit:
        raise QuotaExceeded(
            f"{who} allows {limit} requests per minute; retry after the minute passes",
            retry_after=_retry_after(oldest, MINUTE, now),
            code="rate_limit_exceeded",
        )


def _check_seconds(
    session: Session, column, value: str, limit: float | None, seconds: float, who: str, now: datetime
) -> None:
    if limit is None or seconds <= 0:
        return
    where = (column == value, Charge.status != "released", Charge.created_at > now - DAY)
    used, oldest = session.execute(
        select(func.coalesce(func.sum(Charge.seconds * Charge.n), 0.0), func.min(Charge.created_at)).where(
            *where
        )
    ).one()
    if float(used) + seconds > limit:
        left = max(0.0, limit - float(used))
        raise QuotaExceeded(
            f"{who} allows {limit:g} generated seconds per day; {left:g} s left, this request needs {seconds:g} s",
            retry_after=_retry_after(oldest, DAY, now),
            code="quota_exceeded",
            param="seconds",
        )


def check_quota(
    session: Session,
    account: Account,
    plan: Plan,
    key_id: str | None,
    key_quota: dict | None,
    *,
    seconds: float = 0.0,
    now: datetime | None = None,
) -> None:
    """Raise QuotaExceeded (429, with retry_after) when the key's or the account's quota is spent."""
    now = now or utcnow()
    acct = effective_quota(plan, account.quota)
    _check_requests(
        session, UsageEvent.account_id, account.id, acct.requests_per_minute, f"account {account.name}", now
    )
    _check_seconds(
        session, Charge.account_id, account.id, acct.seconds_per_day, seconds, f"account {account.name}", now
    )
    if key_id is not None and key_quota:
        key = Quota.model_validate(key_quota)
        _check_requests(session, UsageEvent.key_id, key_id, key.requests_per_minute, f"API key {key_id}", now)
        _check_seconds(session, Charge.key_id, key_id, key.seconds_per_day, seconds, f"API key {key_id}", now)


def record_request(
    session: Session,
    account_id: str,
    key_id: str | None,
    model: str | None = None,
    *,
    now: datetime | None = None,
) -> None:
    # A plain INSERT (the other columns take their defaults): one per submit, which the session's
    # unit of work would only slow down.
    _INSERT_EVENT(
        session,
        {
            "account_id": account_id,
            "key_id": key_id,
            "kind": "request",
            "model": model,
            "created_at": now or utcnow(),
        },
    )


_INSERT_EVENT = Prepared(insert(UsageEvent.__table__))


@dataclass(frozen=True)
class UsageRow:
    """Usage over a period for one group (a day, a model, an account or a key; '' for all)."""

    group: str
    requests: int = 0
    generations: int = 0
    seconds: float = 0.0
    credits: int = 0
    points: int = 0

    def to_dict(self) -> dict:
        return asdict(self)


GROUPS = {
    "day": func.date(UsageEvent.created_at),
    "model": UsageEvent.model,
    "account": UsageEvent.account_id,
    "key": UsageEvent.key_id,
}


def usage(
    session: Session,
    *,
    account_id: str | None = None,
    key_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    group_by: str | None = None,
) -> list[UsageRow]:
    """Metered usage, optionally for one account or key, in [since, until), grouped by `group_by`."""
    if group_by is not None and group_by not in GROUPS:
        raise ValueError(f"group_by must be one of {', '.join(GROUPS)}")
    group = GROUPS[group_by] if group_by else None
    if group_by == "day" and session.get_bind().dialect.name == "postgresql":
        # The UTC day, as months and invoices count: PostgreSQL's date() of a timestamptz is the day in
        # the session's TimeZone, which a server set to its own zone makes another.
        group = func.date(func.timezone("UTC", UsageEvent.created_at))
    cols = [
        func.coalesce(func.sum(case((UsageEvent.kind == "request", 1), else_=0)), 0),
        func.coalesce(func.sum(case((UsageEvent.kind == "generation", 1), else_=0)), 0),
        func.coalesce(func.sum(UsageEvent.seconds), 0.0),
        func.coalesce(func.sum(UsageEvent.credits), 0),
        func.coalesce(func.sum(UsageEvent.points), 0),
    ]
    stmt = select(*([group] if group is not None else []), *cols)
    if account_id is not None:
        stmt = stmt.where(UsageEvent.account_id == account_id)
    if key_id is not None:
        stmt = stmt.where(UsageEvent.key_id == key_id)
    if since is not None:
        stmt = stmt.where(UsageEvent.created_at >= since)
    if until is not None:
        stmt = stmt.where(UsageEvent.created_at < until)
    if group is not None:
        stmt = stmt.group_by(group).order_by(group)
    rows = []
    for r in session.execute(stmt).all():
        g, vals = (str(r[0] or ""), r[1:]) if group is not None else ("", r)
        rows.append(UsageRow(g, int(vals[0]), int(vals[1]), float(vals[2]), int(vals[3]), int(vals[4])))
    return rows


def checked_month(month: str | None) -> str:
    """`month` as 'YYYY-MM' (this month in UTC when empty, as credits are granted; '2025-1' reads as
    2025-01); a 400 otherwise."""
    month = month or today_utc().strftime("%Y-%m")
    try:
        start, _ = month_bounds(month)
    except ValueError:
        raise InvalidRequest(f"month must look like 2025-06, not {month!r}", param="month") from None
    return start.strftime("%Y-%m")


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """[first instant, first instant of the next month) of 'YYYY-MM', in UTC."""
    start = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    end = datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=UTC)
    return start, end


INVOICE_FIELDS = [
    "month",
    "account_id",
    "account",
    "plan",
    "seats",
    "subscription_usd",
    "requests",
    "generations",
    "seconds",
    "credits",
    "points",
]


def _subscription(config: Config, plan_name: str, seats: int) -> tuple[int, float]:
    """(seats billed, USD a month) of `plan_name` with `seats` (a plan no longer configured: nothing)."""
    plan = config.plans.get(plan_name)
    billed = seats if plan and plan.per_seat else 1
    return billed, (plan.price_usd or 0) * billed if plan else 0.0


def _billed_plans(session: Session, start: datetime, end: datetime) -> dict[str, list[tuple[str, int]]]:
    """Per account, the (plan, seats) each held at some time in [start, end): the one in effect at
    `start` (or when the account was made, if later) and every change within."""
    held: dict[str, list[tuple[str, int]]] = {}
    before_start: dict[str, tuple[str, int]] = {}
    changes = select(PlanChange).where(PlanChange.at < end).order_by(PlanChange.at, PlanChange.id)
    for change in session.scalars(changes):
        if change.at.replace(tzinfo=change.at.tzinfo or UTC) < start:
            before_start[change.account_id] = (change.plan, change.seats)
        else:
            held.setdefault(change.account_id, []).append((change.plan, change.seats))
    for account_id, plan in before_start.items():
        held.setdefault(account_id, []).insert(0, plan)
    return held


# What makes a spreadsheet read a cell as a formula (OWASP, CSV injection): an account named, or signed
# up with an email beginning, `=HYPERLINK(...)` or `+1+cmd|calc!A0@a.co` must stay text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value: str) -> str:
    """A text cell as a CSV the product writes holds it: behind a `'` (which spreadsheets read as "this is
    text" and do not show) where it would begin a formula, as it is otherwise."""
    return f"'{value}" if value.startswith(_FORMULA_STARTS) else value


def invoice_csv(session: Session, config: Config, month: str) -> str:
    """One CSV line per account for `month`: its subscription and its metered usage. The month bills
    the dearest plan (with its seats) the account held in it, as its credits were granted: a larger
    plan's from the day of the change, a smaller one's from the next month."""
    start, end = month_bounds(month)
    by_account = {r.group: r for r in usage(session, since=start, until=end, group_by="account")}
    held = _billed_plans(session, start, end)
    out = io.StringIO()
    # RFC 4180's CRLF: the writer quotes a cell holding either character of its line end, so a name with a
    # lone CR in it (`ada\r=1+1`) stays one cell of one row, not the start of a row of its own.
    writer = csv.DictWriter(out, fieldnames=INVOICE_FIELDS, lineterminator="\r\n")
    writer.writeheader()
    for account in session.scalars(select(Account).where(Account.created_at < end).order_by(Account.name)):
        # max keeps the first of equal prices: the plan at the month's start over a later equal one.
        plan_name, seats = max(
            held.get(account.id) or [(account.plan, account.seats)],
            key=lambda p: _subscription(config, *p)[1],
        )
        seats, price = _subscription(config, plan_name, seats)
        row = by_account.get(account.id, UsageRow(account.id))
        writer.writerow(
            {
                "month": csv_text(month),  # text cells neutralised, numbers written by this code
                "account_id": csv_text(account.id),
                "account": csv_text(account.name),
                "plan": csv_text(plan_name),
                "seats": seats,
                "subscription_usd": f"{price:.2f}",
                "requests": row.requests,
                "generations": row.generations,
                "seconds": f"{row.seconds:g}",
                "credits": row.credits,
                "points": row.points,
            }
        )
    return out.getvalue()


def today_utc(now: datetime | None = None) -> date:
    return (now or utcnow()).astimezone(UTC).date()
