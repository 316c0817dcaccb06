"""Seats an account cannot have (past what the database holds, or a per-seat month of credits past
what one ledger entry holds) are a 400 naming `seats`, from the CLI as from the core, and nothing is
written; PostgreSQL failed such a write half-way with `integer out of range`, SQLite stored it."""

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from zoetrope.access import ledger
from zoetrope.access.accounts import MAX_SEATS, get_account, open_account, update_account
from zoetrope.access.models import Account, LedgerEntry, PlanChange
from zoetrope.cli import app
from zoetrope.db import transaction
from zoetrope.errors import InvalidRequest


def _rows(engine) -> tuple[int, int, int]:
    with transaction(engine) as s:
        return tuple(s.scalar(select(func.count()).select_from(t)) for t in (Account, LedgerEntry, PlanChange))


@pytest.mark.parametrize(("plan", "seats", "says"), [
    ("team", 3_000_000, "1 and 1,000,000"),  # team's month for these seats: 3e9 credits
    ("plus", 3_000_000_000, "1 and 1,000,000"),  # past the seats column itself
    ("team", 0, "1 and 1,000,000"),
])  # fmt: skip
def test_seats_past_what_can_be_stored_are_refused_on_open(engine, plan, seats, says):
    before = _rows(engine)
    with transaction(engine, immediate=True) as s, pytest.raises(InvalidRequest) as e:
        open_account(s, "crew", plan, seats=seats)
    assert e.value.param == "seats" and says in e.value.message, e.value.message
    assert _rows(engine) == before


def test_more_seats_or_a_per_seat_plan_are_checked_before_anything_changes(engine, monkeypatch):
    with transaction(engine, immediate=True) as s:
        crew = open_account(s, "crew", "plus", seats=MAX_SEATS).id  # plus is not per seat: one month's 1,000
    before = _rows(engine)
    with transaction(engine, immediate=True) as s, pytest.raises(InvalidRequest) as e:
        update_account(s, crew, seats=MAX_SEATS + 1)
    assert e.value.param == "seats"
    # A config whose per-seat month is larger: the seats held would grant more than an entry holds.
    from zoetrope.config import get_config

    team = get_config().plans["team"]
    monkeypatch.setitem(get_config().plans, "team", team.model_copy(update={"monthly_credits": 5000}))
    with transaction(engine, immediate=True) as s, pytest.raises(InvalidRequest) as e:
        update_account(s, crew, plan="team")
    assert e.value.param == "seats"
    assert "5,000 credits a seat" in e.value.message and "at most 429,496 seats" in e.value.message
    assert _rows(engine) == before
    with transaction(engine) as s:
        account = get_account(s, crew)
        assert (account.plan, account.seats, ledger.balance(s, crew)) == ("plus", MAX_SEATS, 1000)


def test_the_cli_names_the_seats_option():
    runner = CliRunner()
    result = runner.invoke(app, ["accounts", "create", "crew", "--plan", "team", "--seats", "3000000"])
    assert isinstance(result.exception, InvalidRequest), result.output
    assert result.exception.param == "--seats"
    assert runner.invoke(app, ["accounts", "create", "crew", "--plan", "team", "--seats", "3"]).exit_code == 0
    result = runner.invoke(app, ["accounts", "set", "crew", "--seats", "5000000"])
    assert isinstance(result.exception, InvalidRequest) and result.exception.param == "--seats"
    assert "crew" in runner.invoke(app, ["accounts", "list"]).output
