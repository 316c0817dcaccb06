"""Create, find and change accounts."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import TypeVar

from sqlalchemy import case, or_, select
from sqlalchemy.orm import Session

from zoetrope.access import grants, ledger
from zoetrope.access.models import Account, PlanChange, utcnow
from zoetrope.access.usage import checked_quota, today_utc
from zoetrope.config import get_config
from zoetrope.db import transaction
from zoetrope.errors import Conflict, InvalidRequest, NotFound, shown

T = TypeVar("T")


def _check_plan(plan: str) -> None:
    plans = get_config().plans
    if plan not in plans:
        raise InvalidRequest(f"unknown plan {plan!r}; known plans: {', '.join(sorted(plans))}", param="plan")


ID_PREFIX = "acct_"  # every account id's (`new_id("acct")`)
ID_SHAPE = re.compile(rf"{ID_PREFIX}[0-9a-fA-F]*")

# The officially assigned ISO 3166-1 alpha-2 codes, and XK (Kosovo, in common use): a region rule or
# a price can only ever name one of these, so an account with another (ZZ, UK, EU) would slip past both.
COUNTRIES = frozenset(
    """
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW
BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI
FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN
IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME
MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF
PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV
SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS XK
YE YT ZA ZM ZW
""".split()
)


def _check_country(country: str) -> str:
    code = country.strip().upper()
    if code not in COUNTRIES:
        hint = " (the United Kingdom is 'GB')" if code == "UK" else ""
        raise InvalidRequest(
            f"country must be an ISO 3166-1 alpha-2 code like 'US', not {country!r}{hint}", param="country"
        )
    return code


# The most seats an account has: far beyond any real team, and within the database's integers.
MAX_SEATS = 1_000_000


def _check_seats(plan_name: str, seats: int) -> int:
    """`seats` if the account can have them on `plan_name`: 1 to MAX_SEATS, and (on a per-seat plan)
    few enough that a month's credits fit one ledger entry; a 400 naming `seats` otherwise, before
    anything is written (PostgreSQL refused the write half-way, SQLite stored it)."""
    if not 1 <= seats <= MAX_SEATS:
        raise InvalidRequest(f"seats must be between 1 and {MAX_SEATS:,}, not {seats:,}", param="seats")
    plan = get_config().plan(plan_name)
    if plan.per_seat and plan.monthly_credits * seats > ledger.MAX_AMOUNT:
        most = ledger.MAX_AMOUNT // plan.monthly_credits
        raise InvalidRequest(
            f"{plan.name} grants {plan.monthly_credits:,} credits a seat each month, and {seats:,} seats would "
            f"be {plan.monthly_credits * seats:,}, more than the ledger holds: at most {most:,} seats",
            param="seats",
        )
    return seats


def _check_birth_date(birth_date: date) -> date:
    if birth_date > date.today():
        raise InvalidRequest(f"birth_date {birth_date.isoformat()} is in the future", param="birth_date")
    return birth_date


def create_account(
    session: Session,
    name: str,
    plan: str = "plus",
    country: str = "US",
    birth_date: date = date(1990, 1, 1),
    *,
    seats: int = 1,
    is_admin: bool = False,
    quota: dict | None = None,
) -> Account:
    """A new account on `plan`; the name must be unused."""
    _check_plan(plan)
    if not name.strip():
        raise InvalidRequest("an account needs a name", param="name")
    if ID_SHAPE.fullmatch(name):  # an id mistyped, or an account other commands would mistake for another
        raise InvalidRequest(
            f"no account has the id {shown(name)}, and a new account cannot be named like an id "
            f"({ID_PREFIX!r} and hex digits; the server gives ids): check the id, or choose another name",
            param="name",
        )
    _check_seats(plan, seats)
    if session.scalar(select(Account.id).where(Account.name == name)) is not None:
        raise Conflict(f"an account named {name!r} already exists", param="name")
    account = Account(
        created_at=utcnow(),
        name=name,
        plan=plan,
        country=_check_country(country),
        birth_date=_check_birth_date(birth_date),
        seats=seats,
        is_admin=is_admin,
        quota=checked_quota(quota),
    )
    session.add(account)
    session.flush()
    session.add(PlanChange(account_id=account.id, plan=plan, seats=seats, at=account.created_at))
    return account


def open_account(session: Session, name: str, plan: str = "plus", *args, **kwargs) -> Account:
    """`create_account` for someone who will use it: this month's plan credits are granted at once,
    as the account's first generation request would, so its balance shows them from the start."""
    account = create_account(session, name, plan, *args, **kwargs)
    grants.ensure_monthly_grant(session, account, get_config().plan(account.plan), today_utc())
    return account


def month_due(session: Session, account: Account, today: date | None = None) -> bool:
    """Whether the account's credits of this month (UTC) are still to be granted, as its first create
    of the month would: a balance shown before then would be last month's. A disabled account is
    granted nothing (admission refuses it first), nor is one on a plan no longer configured."""
    plan = get_config().plans.get(account.plan)
    if account.disabled_at is not None or plan is None:
        return False
    return grants.month_due(session, account, plan, today or today_utc())


def open_month(session: Session, account_id: str, today: date | None = None) -> Account:
    """Grant the account this month's credits (and expire the last month's) if its first create of
    the month has not, under the account's lock as admission does, so the balance any reader shows is
    the one the account can spend: the ledger stays the only record of it. On SQLite, call it inside
    `transaction(engine, immediate=True)`; `month_due` says, reading only, whether it is needed."""
    account = lock_account(session, account_id)
    today = today or today_utc()
    if month_due(session, account, today):
        grants.ensure_monthly_grant(session, account, get_config().plan(account.plan), today)
    return account


def read_in_open_months(engine, read: Callable[[Session], tuple[list[Account | None], T]]) -> T:
    """`read(session)` -> (the accounts it shows, its answer), answered once every one of those
    accounts has this month's credits: those whose first create of the month has not granted them yet
    are granted them (`open_month`, under each account's lock, in one order so two readers never
    wait on each other), and the answer read again, so a balance shown is this month's, not last
    month's until a create. The usual answer costs one read; the write happens once a month."""
    for _ in range(2):
        with transaction(engine) as s:
            shown, answer = read(s)
            due = sorted(a.id for a in shown if a is not None and month_due(s, a))
            if not due:
                return answer
        with transaction(engine, immediate=True) as s:
            for account_id in due:
                open_month(s, account_id)
    return answer


def open_months(engine, account_ids: list[str]) -> None:
    """Grant these accounts this month's credits where their first create of the month has not yet
    (`read_in_open_months`, reading nothing else)."""
    read_in_open_months(engine, lambda s: ([s.get(Account, i) for i in account_ids], None))


def get_account(session: Session, account_id: str) -> Account:
    """The account with this id, or with this name; NotFound otherwise."""
    account = find_account(session, account_id)
    if account is None:
        raise NotFound(f"no account {account_id!r}", param="account")
    return account


def find_account(session: Session, id_or_name: str) -> Account | None:
    """The account with this id, else the one with this name (an id wins over a name that equals it,
    which an account made before names were checked may have)."""
    stmt = (
        select(Account)
        .where(or_(Account.id == id_or_name, Account.name == id_or_name))
        .order_by(case((Account.id == id_or_name, 0), else_=1))
        .limit(1)
    )
    return session.scalar(stmt)


def lock_account(session: Session, account_id: str) -> Account:
    """The account, its row locked until the transaction ends and its attributes read afresh."""
    account = session.scalar(
        select(Account)
        .where(Account.id == account_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if account is None:
        raise NotFound(f"no account {account_id!r}", param="account")
    return account


def list_accounts(session: Session) -> list[Account]:
    return list(session.scalars(select(Account).order_by(Account.created_at, Account.id)))


def update_account(
    session: Session,
    account_id: str,
    *,
    plan: str | None = None,
    country: str | None = None,
    birth_date: date | None = None,
    seats: int | None = None,
    quota: dict | None = None,
    is_admin: bool | None = None,
) -> Account:
    """Change an account's plan, country, birth date, seats, quota or admin right.

    The account's row is locked first (PostgreSQL `SELECT ... FOR UPDATE`, as admission locks it; on
    SQLite run it inside `transaction(engine, immediate=True)`) and read afresh under the lock: a
    change made meanwhile (another change, the month's first create granting its credits) is
    applied before this one reads the account, so the plan history and the month's top-up follow
    the account as it is, not as it was before the other change committed."""
    account = lock_account(session, get_account(session, account_id).id)
    billed = (account.plan, account.seats)
    if plan is not None:
        _check_plan(plan)
    if plan is not None or seats is not None:  # the new seats, or the old ones on the new plan
        _check_seats(plan or account.plan, account.seats if seats is None else seats)
    if plan is not None:
        account.plan = plan
    if country is not None:
        account.country = _check_country(country)
    if birth_date is not None:
        account.birth_date = _check_birth_date(birth_date)
    if seats is not None:
        account.seats = seats
    if quota is not None:
        account.quota = checked_quota(quota) or None
    if is_admin is not None:
        account.is_admin = is_admin
    if (account.plan, account.seats) != billed:
        session.add(PlanChange(account_id=account.id, plan=account.plan, seats=account.seats, at=utcnow()))
    session.flush()
    if plan is not None or seats is not None:  # a larger plan's credits from today, not next month
        grants.top_up_monthly_grant(session, account, get_config().plan(account.plan), today_utc())
    return account
