"""At the start of a month the balance shown is the month's: `/v1/usage` and the admin API grant the
month's credits (and expire last month's rest) as the month's first create would, without one."""

from datetime import UTC, date, datetime, time

import pytest
from fastapi.testclient import TestClient

from tests.access.conftest import access_app
from zoetrope.access import grants, ledger
from zoetrope.access.accounts import create_account
from zoetrope.access.admission import admit
from zoetrope.access.entitlements import RequestSummary
from zoetrope.access.keys import create_key, principal_for
from zoetrope.config import get_config
from zoetrope.db import transaction

REQ = RequestSummary(model="zoetrope-mini", width=640, height=480, seconds=4)


def _last_month(today: date) -> date:
    return date(today.year - (today.month == 1), (today.month - 2) % 12 + 1, 15)


@pytest.fixture
def setup(engine):
    """An account granted last month, which spent some of it there, with 50 credits bought that stay."""
    with transaction(engine, immediate=True) as s:
        root = create_account(s, "root", is_admin=True)
        grants.ensure_monthly_grant(s, root, get_config().plan(root.plan), date.today())
        ada = create_account(s, "ada", plan="plus")
        ledger.grant(s, ada.id, 50, note="bought")
        tokens = {"root": create_key(s, root.id)[1], "ada": create_key(s, ada.id)[1]}
        then = datetime.combine(_last_month(date.today()), time(12), UTC)
        spent = admit(s, principal_for(ada), REQ, "video_last_month", now=then)  # grants last month first
        ledger.capture(s, spent.job_id)
        assert 0 < spent.credits and ledger.balance(s, ada.id) == 1050 - spent.credits
    return engine, ada.id, {n: {"Authorization": f"Bearer {t}"} for n, t in tokens.items()}


def test_usage_shows_this_months_credits_before_any_create(setup):
    engine, account_id, auth = setup
    client = TestClient(access_app(engine))
    monthly = get_config().plan("plus").monthly_credits
    r = client.get("/v1/usage", headers=auth["ada"])
    assert r.status_code == 200, r.text
    assert r.json()["credits"] == monthly + 50  # last month's rest expired, the bought credits kept
    again = client.get("/v1/usage", headers=auth["ada"]).json()
    assert again["credits"] == monthly + 50  # granted once
    with transaction(engine) as s:
        assert ledger.balance(s, account_id) == ledger.ledger_sum(s, account_id) == monthly + 50


def test_the_admin_api_shows_this_months_credits_before_any_create(setup):
    engine, account_id, auth = setup
    client = TestClient(access_app(engine))
    monthly = get_config().plan("plus").monthly_credits
    one = client.get(f"/v1/admin/accounts/{account_id}", headers=auth["root"])
    assert one.status_code == 200, one.text
    assert one.json()["credits"] == monthly + 50
    listed = {
        a["id"]: a["credits"] for a in client.get("/v1/admin/accounts", headers=auth["root"]).json()["data"]
    }
    assert listed[account_id] == monthly + 50


def test_opening_a_month_twice_grants_it_once(engine):
    from zoetrope.access.accounts import open_month

    with transaction(engine, immediate=True) as s:
        ada = create_account(s, "ada", plan="pro")
        account_id = ada.id
    for _ in range(2):
        with transaction(engine, immediate=True) as s:
            open_month(s, account_id)
    with transaction(engine) as s:
        assert ledger.balance(s, account_id) == get_config().plan("pro").monthly_credits
