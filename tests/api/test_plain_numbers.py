"""Numbers in a query string or an admin request are plain decimal digits: `limit=1_0`, `" 10"`
or `"10.0"` is a 400 naming the parameter, never read as 10, and changes nothing."""

from __future__ import annotations

import pytest

from tests.api.inprocess import InProcess
from zoetrope.access import ledger
from zoetrope.access.accounts import open_account
from zoetrope.access.keys import create_key
from zoetrope.db import transaction

ODD = ["1_0", " 10", "10.0", "1e1", "٣"]


@pytest.fixture
def app(tmp_path, monkeypatch) -> InProcess:
    return InProcess(tmp_path, monkeypatch)


def _admin(app: InProcess) -> dict[str, str]:
    with transaction(app.engine, immediate=True) as s:
        account = open_account(s, "root", plan="pro", is_admin=True)
        return {"Authorization": f"Bearer {create_key(s, account.id)[1]}"}


def _refused(r, param: str) -> None:
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["param"] == param and "whole number in ASCII digits" in error["message"], error


@pytest.mark.parametrize("odd", ODD)
def test_a_list_limit_that_is_not_plain_digits_is_a_400_naming_limit(app, odd):
    auth = {"Authorization": f"Bearer {app.tokens['pro']}"}
    _refused(app.http.get("/v1/videos", params={"limit": odd}, headers=auth), "limit")
    assert app.http.get("/v1/videos", params={"limit": "10"}, headers=auth).status_code == 200


@pytest.mark.parametrize("odd", ODD)
def test_admin_seats_and_credits_that_are_not_plain_digits_are_400s_that_change_nothing(app, odd):
    admin, account = _admin(app), app.accounts["pro"]
    with transaction(app.engine) as s:
        before = ledger.balance(s, account)
    _refused(app.http.post("/v1/admin/accounts", json={"name": "new", "seats": odd}, headers=admin), "seats")
    _refused(app.http.patch(f"/v1/admin/accounts/{account}", json={"seats": odd}, headers=admin), "seats")
    granted = app.http.post(f"/v1/admin/accounts/{account}/credits", json={"amount": odd}, headers=admin)
    _refused(granted, "amount")
    listed = app.http.get("/v1/admin/accounts", headers=admin).json()["data"]
    assert "new" not in [a["name"] for a in listed]
    assert next(a for a in listed if a["id"] == account)["seats"] == 1
    with transaction(app.engine) as s:
        assert ledger.balance(s, account) == before
    ok = app.http.post(f"/v1/admin/accounts/{account}/credits", json={"amount": "10"}, headers=admin)
    assert ok.status_code == 200 and ok.json()["credits"] == before + 10
