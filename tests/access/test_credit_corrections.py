"""Credits added or taken back by an operator (admin API, `zoetrope accounts grant`): an amount the
ledger cannot hold, or a take-back past what the account has, is a 400 naming `amount`, and nothing
is written; on SQLite and PostgreSQL alike."""

import threading

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from tests.access.conftest import access_app
from zoetrope.access import ledger
from zoetrope.access.accounts import create_account, open_account
from zoetrope.access.admission import admit
from zoetrope.access.entitlements import RequestSummary
from zoetrope.access.keys import create_key, principal_for
from zoetrope.access.models import Account, LedgerEntry
from zoetrope.db import transaction
from zoetrope.errors import InsufficientCredits, InvalidRequest

# 480p, 10 s: 10 credits at the shipped prices.
TEN_CREDITS = RequestSummary(model="zoetrope-mini", width=640, height=480, seconds=10)


def _account(engine, credits: int, plan: str = "pro") -> str:
    """An account holding `credits` (its month not granted yet: nothing here admits a job)."""
    with transaction(engine, immediate=True) as s:
        account = create_account(s, "ada", plan=plan)
        ledger.grant(s, account.id, credits, key="bought")
        return account.id


def _state(engine, account_id: str) -> tuple[int, int]:
    with transaction(engine) as s:
        entries = s.scalar(select(func.count()).where(LedgerEntry.account_id == account_id))
        assert ledger.balance(s, account_id) == ledger.ledger_sum(s, account_id)
        return ledger.balance(s, account_id), entries


def test_an_amount_past_what_an_entry_holds_is_refused_before_anything_is_written(engine):
    """PostgreSQL's INTEGER column failed the write with a 500 (`integer out of range`); SQLite
    stored it. Either way the operator is told the limit, and both databases answer alike."""
    account_id = _account(engine, 40)
    before = _state(engine, account_id)
    for amount in (3_000_000_000, -3_000_000_000):
        with transaction(engine, immediate=True) as s, pytest.raises(InvalidRequest) as e:
            ledger.grant(s, account_id, amount)
        assert e.value.param == "amount" and "2,147,483,647" in e.value.message, e.value.message
    assert _state(engine, account_id) == before
    with transaction(engine, immediate=True) as s:  # the largest amount still goes in, once
        assert ledger.grant(s, account_id, ledger.MAX_AMOUNT)
    assert _state(engine, account_id)[0] == 40 + ledger.MAX_AMOUNT


def test_taking_back_more_than_the_account_has_is_refused(engine):
    account_id = _account(engine, 40)
    before = _state(engine, account_id)
    with transaction(engine, immediate=True) as s, pytest.raises(InvalidRequest) as e:
        ledger.grant(s, account_id, -100)
    assert e.value.param == "amount"
    assert "would leave the account at -60 credits; it has 40: take back at most 40" in e.value.message
    assert _state(engine, account_id) == before
    with transaction(engine, immediate=True) as s:
        ledger.grant(s, account_id, -40)  # all of it: fine
    assert _state(engine, account_id)[0] == 0
    with transaction(engine, immediate=True) as s, pytest.raises(InvalidRequest, match="it has none to take back"):
        ledger.grant(s, account_id, -1, currency="points")


def test_the_admin_api_refuses_both_with_a_400_naming_amount(engine):
    with transaction(engine, immediate=True) as s:
        root = create_account(s, "root", is_admin=True)
        headers = {"Authorization": f"Bearer {create_key(s, root.id)[1]}"}
    account_id = _account(engine, 40, plan="free")  # a plan of no monthly credits: it holds 40 alone
    client = TestClient(access_app(engine))
    for amount in (3_000_000_000, -41):
        r = client.post(f"/v1/admin/accounts/{account_id}/credits", json={"amount": amount}, headers=headers)
        assert r.status_code == 400, r.text
        assert r.json()["error"]["param"] == "amount", r.text
    assert _state(engine, account_id)[0] == 40
    r = client.post(f"/v1/admin/accounts/{account_id}/credits", json={"amount": -40}, headers=headers)
    assert r.status_code == 200 and r.json()["credits"] == 0, r.text


def test_the_cli_names_the_amount_it_refuses():
    runner = CliRunner()
    from zoetrope.cli import app

    assert runner.invoke(app, ["accounts", "create", "bob", "--plan", "plus"]).exit_code == 0
    result = runner.invoke(app, ["accounts", "grant", "bob", "--", "-5000"])
    assert isinstance(result.exception, InvalidRequest), result.output
    assert result.exception.param == "AMOUNT" and "take back at most 1,000" in result.exception.message
    result = runner.invoke(app, ["accounts", "grant", "bob", "3000000000"])
    assert isinstance(result.exception, InvalidRequest) and result.exception.param == "AMOUNT"
    assert runner.invoke(app, ["accounts", "grant", "bob", "--", "-1000"]).stdout.strip() == "bob: 0 credits"


def _race(engine, name: str) -> tuple[int, list[str]]:
    """Four 10-credit admissions and a take-back of all 40 credits, at once: the balance after, and
    what each got."""
    with transaction(engine) as s:
        account = open_account(s, name, plan="pro")  # the month's 10,000 granted
        ledger.grant(s, account.id, 40 - ledger.balance(s, account.id))
        principal = principal_for(s.get(Account, account.id))
    barrier = threading.Barrier(5)
    outcomes: list[str] = []

    def submit(i: int) -> None:
        barrier.wait()
        try:
            with transaction(engine) as s:
                admit(s, principal, TEN_CREDITS, f"video_{name}_{i}")
            outcomes.append("admitted")
        except InsufficientCredits:
            outcomes.append("refused")

    def take_back() -> None:
        barrier.wait()
        try:
            with transaction(engine) as s:
                ledger.grant(s, account.id, -40)
            outcomes.append("taken")
        except InvalidRequest:
            outcomes.append("kept")

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(4)]
    threads.append(threading.Thread(target=take_back))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return _state(engine, account.id)[0], outcomes


def test_a_take_back_racing_admissions_never_leaves_a_negative_balance_on_postgres(pg_engine):
    """The take-back locks the account as admission does: whichever comes second sees what the
    first left, so between them they never spend more than the account held."""
    for round_ in range(5):
        balance, outcomes = _race(pg_engine, f"ada-{round_}")
        assert balance >= 0, outcomes
        assert balance == 40 - 10 * outcomes.count("admitted") - 40 * outcomes.count("taken"), outcomes
