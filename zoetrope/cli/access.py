"""`zoetrope accounts|keys|usage`: manage who may call the server, on the server's own database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine

from zoetrope.cli import app
from zoetrope.errors import InvalidRequest

accounts_app = typer.Typer(help="Accounts: create, list, show and change plans.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys: create (shown once), list, revoke.", no_args_is_help=True)
app.add_typer(accounts_app, name="accounts")
app.add_typer(keys_app, name="keys")
console = Console()


def _engine() -> Engine:
    """The server's database (ZOETROPE_DATABASE_URL or the data dir's SQLite), migrated to head."""
    import zoetrope.access  # noqa: F401  (registers the tables)
    from zoetrope.db import engine_for
    from zoetrope.settings import get_settings

    engine = engine_for(get_settings().resolved_database_url)
    try:
        from zoetrope.jobs.migrate import upgrade
    except ImportError:  # a tree without the jobs layer: create the tables directly
        from zoetrope.db import Base

        Base.metadata.create_all(engine)
    else:
        upgrade(engine)
    return engine


def _table(*columns: str, title: str | None = None) -> Table:
    """A table whose first column (the id other commands take) is never wrapped, so it can be copied
    from a narrow terminal; the other cells wrap instead of being cut."""
    table = Table(title=title)
    for i, name in enumerate(columns):
        table.add_column(name, no_wrap=i == 0, overflow="ignore" if i == 0 else "fold")
    return table


@contextmanager
def _options(options: dict[str, str]) -> Iterator[None]:
    """Within, an InvalidRequest about a stored field names the option the user typed instead."""
    try:
        yield
    except InvalidRequest as e:
        option = options.get(e.param or "")
        if option is None:
            raise
        # A stored field's name in the message (quota.requests_per_minute) becomes the option's; a
        # plain word (plan, name) stays a word.
        message = e.message.replace(e.param, option) if "." in e.param or "_" in e.param else e.message
        raise InvalidRequest(message, param=option) from None


def _account_name(name: str) -> str:
    """A new account's name, if it can be stored (the admin API checks the same)."""
    from zoetrope.access.models import Account
    from zoetrope.access.usage import checked_text

    return checked_text(name, Account.name, "name")


def _birth_date(text: str) -> date:
    """`--birth-date` as a date, or InvalidRequest naming the option and the form it takes."""
    try:
        return date.fromisoformat(text)
    except ValueError as e:
        raise InvalidRequest(f"--birth-date {text!r} is not a date ({e}); write it as YYYY-MM-DD, such as 1990-01-31",
                             param="--birth-date") from None


# The stored fields `accounts create` and `accounts set` change, as the options that set them.
_ACCOUNT_OPTIONS = {"plan": "--plan", "country": "--country", "birth_date": "--birth-date", "seats": "--seats",
                    "quota.requests_per_minute": "--rpm", "quota.seconds_per_day": "--seconds-per-day"}


def _quota(rpm: int | None, seconds_per_day: float | None) -> dict | None:
    q = {"requests_per_minute": rpm, "seconds_per_day": seconds_per_day}
    return {k: v for k, v in q.items() if v is not None} or None


@accounts_app.command("create")
def accounts_create(
    name: str = typer.Argument(..., help="a unique account name"),
    plan: str = typer.Option("plus", help="plus, pro, team, free, bing-free... (see the config file)"),
    country: str = typer.Option("US", help="ISO 3166-1 alpha-2 country code"),
    birth_date: str = typer.Option("1990-01-01", help="YYYY-MM-DD; under 18 may not generate"),
    seats: int = typer.Option(1, help="seats, for per-seat plans like team"),
    admin: bool = typer.Option(False, "--admin", help="may use the admin API"),
) -> None:
    """Create an account."""
    from zoetrope.access import open_account
    from zoetrope.db import transaction

    _account_name(name)
    born = _birth_date(birth_date)
    with transaction(_engine()) as s, _options({**_ACCOUNT_OPTIONS, "name": "NAME"}):
        a = open_account(s, name, plan, country, born, seats=seats, is_admin=admin)
        typer.echo(f"created {a.id} ({a.name}, plan {a.plan})")


@accounts_app.command("list")
def accounts_list() -> None:
    """List accounts with their plan and credit balance."""
    from zoetrope.access import ledger, list_accounts
    from zoetrope.access.accounts import open_months
    from zoetrope.db import transaction

    table = _table("id", "name", "plan", "country", "seats", "credits", "points", "admin")
    with transaction(_engine()) as s:
        listed = [a.id for a in list_accounts(s)]
    open_months(_engine(), listed)  # this month's balances, for accounts not yet in it too
    with transaction(_engine()) as s:
        for a in list_accounts(s):
            table.add_row(
                a.id,
                a.name,
                a.plan,
                a.country,
                str(a.seats),
                str(ledger.balance(s, a.id)),
                str(ledger.balance(s, a.id, "points")),
                "yes" if a.is_admin else "",
            )
    console.print(table)


@accounts_app.command("show")
def accounts_show(account: str = typer.Argument(..., help="account id or name")) -> None:
    """Show an account: plan limits, balance, keys and this month's usage."""
    from zoetrope.access import get_account, ledger, list_keys
    from zoetrope.access.accounts import open_months
    from zoetrope.access.entitlements import concurrency_limit
    from zoetrope.access.usage import month_bounds, today_utc, usage
    from zoetrope.config import get_config
    from zoetrope.db import transaction

    with transaction(_engine()) as s:
        account_id = get_account(s, account).id
    open_months(_engine(), [account_id])  # the balance shown is this month's
    with transaction(_engine()) as s:
        a = get_account(s, account_id)
        plan = get_config().plan(a.plan)
        console.print(
            f"[bold]{a.name}[/] {a.id}  plan [bold]{a.plan}[/]  country {a.country}  born {a.birth_date}"
            f"  seats {a.seats}{'  admin' if a.is_admin else ''}"
        )
        console.print(
            f"limits: {plan.max_seconds or 0:g} s, {plan.max_resolution or 0}p, lanes "
            f"{', '.join(plan.allowed_lanes())}, {concurrency_limit(plan, a.seats)} concurrent, watermark-free "
            f"{'yes' if plan.watermark_free else 'no'}"
        )
        console.print(
            f"balance: {ledger.balance(s, a.id)} credits, {ledger.balance(s, a.id, 'points')} points"
        )
        since, until = month_bounds(today_utc().strftime("%Y-%m"))
        for row in usage(s, account_id=a.id, since=since, until=until):
            console.print(
                f"this month: {row.requests} requests, {row.generations} generations, "
                f"{row.seconds:g} s, {row.credits} credits"
            )
        table = _table("key", "name", "prefix", "last used", "revoked")
        for k in list_keys(s, a.id):
            table.add_row(k.id, k.name, k.prefix + "...", str(k.last_used_at or ""), str(k.revoked_at or ""))
        console.print(table)


@accounts_app.command("set")
def accounts_set(
    account: str = typer.Argument(..., help="account id or name"),
    plan: str = typer.Option(None),
    country: str = typer.Option(None),
    birth_date: str = typer.Option(None, help="YYYY-MM-DD"),
    seats: int = typer.Option(None),
    rpm: int = typer.Option(None, help="account quota: requests per minute"),
    seconds_per_day: float = typer.Option(None, help="account quota: generated seconds per day"),
    admin: bool = typer.Option(None, "--admin/--no-admin", help="grant or take the admin right (studio Admin)"),
) -> None:
    """Change an account's plan, country, birth date, seats, quota or admin right."""
    from zoetrope.access import update_account
    from zoetrope.db import transaction

    born = _birth_date(birth_date) if birth_date else None
    with transaction(_engine()) as s, _options(_ACCOUNT_OPTIONS):
        a = update_account(
            s,
            account,
            plan=plan,
            country=country,
            seats=seats,
            quota=_quota(rpm, seconds_per_day),
            birth_date=born,
            is_admin=admin,
        )
        typer.echo(f"updated {a.id} ({a.name}, plan {a.plan}{', admin' if a.is_admin else ''})")


@accounts_app.command("grant")
def accounts_grant(
    account: str = typer.Argument(..., help="account id or name"),
    amount: int = typer.Argument(..., help="credits (or points) to add; negative to remove"),
    points: bool = typer.Option(False, "--points", help="grant Rewards points instead of credits"),
    note: str = typer.Option("", help="why, kept in the ledger"),
) -> None:
    """Add credits or points to an account (an entry in the append-only ledger)."""
    from zoetrope.access import get_account, ledger
    from zoetrope.db import transaction

    currency = "points" if points else "credits"
    with transaction(_engine()) as s, _options({"note": "--note", "amount": "AMOUNT"}):
        a = get_account(s, account)
        ledger.grant(s, a.id, amount, currency=currency, note=note or "granted from the CLI")
        typer.echo(f"{a.name}: {ledger.balance(s, a.id, currency)} {currency}")


@keys_app.command("create")
def keys_create(
    account: str = typer.Option(..., "--account", help="account id or name; created if missing"),
    plan: str = typer.Option(None, help="the plan of an account created here (plus if left out)"),
    name: str = typer.Option("default", help="a label for the key"),
    model: list[str] = typer.Option(None, "--model", help="restrict the key to these models (repeatable)"),
    rpm: int = typer.Option(None, help="key quota: requests per minute"),
    seconds_per_day: float = typer.Option(None, help="key quota: generated seconds per day"),
    expires_in: int = typer.Option(None, "--expires-in", help="days the key lasts (default: until revoked)"),
) -> None:
    """Create an API key and print it once (it is stored only as a hash)."""
    from zoetrope.access import create_key, open_account
    from zoetrope.access.accounts import find_account
    from zoetrope.access.keys import expiry_after
    from zoetrope.db import transaction

    expires_at = expiry_after(expires_in, param="--expires-in")
    with transaction(_engine()) as s:
        with _options({"name": "--account", "plan": "--plan"}):
            a = find_account(s, account)
            if a is None:
                a = open_account(s, _account_name(account), plan or "plus")
            elif plan is not None and plan != a.plan:
                raise InvalidRequest(
                    f"account {a.name} is on plan {a.plan}, and --plan applies only to an account created here: "
                    f"change its plan with `zoetrope accounts set {a.name} --plan {plan}`, or leave --plan out",
                    param="--plan",
                )
        # Name the option the user typed, not the stored field.
        with _options({"quota.requests_per_minute": "--rpm", "quota.seconds_per_day": "--seconds-per-day",
                       "name": "--name", "allowed_models": "--model"}):
            key, token = create_key(
                s, a.id, name, quota=_quota(rpm, seconds_per_day), allowed_models=model or None,
                expires_at=expires_at,
            )
    console.print(f"key {key.id} for {a.name} ({a.plan}); copy it now, it is not shown again:", style="dim")
    typer.echo(token)


@keys_app.command("list")
def keys_list(account: str = typer.Option(None, "--account", help="only this account's keys")) -> None:
    """List API keys (never their secrets)."""
    from zoetrope.access import get_account, list_keys
    from zoetrope.db import transaction

    table = _table("key", "account", "name", "prefix", "created", "last used", "revoked", "expires", "models")
    with transaction(_engine()) as s:
        account_id = get_account(s, account).id if account else None
        for k in list_keys(s, account_id):
            table.add_row(
                k.id,
                k.account_id,
                k.name,
                k.prefix + "...",
                f"{k.created_at:%Y-%m-%d}",
                str(k.last_used_at or ""),
                str(k.revoked_at or ""),
                f"{k.expires_at:%Y-%m-%d %H:%M}" if k.expires_at else "",
                ",".join(k.allowed_models or []),
            )
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(key_id: str = typer.Argument(..., help="the key id (key_...)")) -> None:
    """Revoke an API key; requests with it fail from now on."""
    from zoetrope.access import revoke_key
    from zoetrope.access.models import ApiKey
    from zoetrope.db import transaction

    with transaction(_engine()) as s:
        k = s.get(ApiKey, key_id)
        if k is not None and k.revoked_at is not None:
            typer.echo(f"{k.id} ({k.name}) was already revoked on {k.revoked_at:%Y-%m-%d %H:%M}")
            return
        k = revoke_key(s, key_id)
        typer.echo(f"revoked {k.id} ({k.name})")


@app.command("usage")
def usage_cmd(
    account: str = typer.Option(None, "--account", help="one account (id or name); default all"),
    by: str = typer.Option("day", help="group by day, model, account or key"),
    month: str = typer.Option(None, help="YYYY-MM; default the current month"),
    invoice: bool = typer.Option(False, "--invoice", help="print the month's invoice lines as CSV"),
) -> None:
    """Show metered usage (requests, seconds, credits), or a month's invoices as CSV."""
    from zoetrope.access import get_account
    from zoetrope.access.usage import GROUPS, checked_month, invoice_csv, month_bounds, usage
    from zoetrope.config import get_config
    from zoetrope.db import transaction

    if by not in GROUPS:
        raise InvalidRequest(f"--by must be one of {', '.join(GROUPS)}", param="--by")
    try:
        month = checked_month(month)  # '2026-1' is 2026-01, in the table's title and the invoice's lines
    except InvalidRequest:
        raise InvalidRequest(f"--month {month!r} is not a month; write it as YYYY-MM, such as 2026-01",
                             param="--month") from None
    since, until = month_bounds(month)
    with transaction(_engine()) as s:
        if invoice:
            typer.echo(invoice_csv(s, get_config(), month), nl=False)
            return
        account_id = get_account(s, account).id if account else None
        rows = usage(s, account_id=account_id, since=since, until=until, group_by=by)
    table = Table(by, "requests", "generations", "seconds", "credits", "points", title=f"usage {month}")
    for r in rows:
        table.add_row(
            r.group, str(r.requests), str(r.generations), f"{r.seconds:g}", str(r.credits), str(r.points)
        )
    console.print(table)
