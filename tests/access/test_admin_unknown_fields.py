"""A field the admin API does not take is a 400 naming it and the fields it does take, and nothing is
written. Before, it was dropped: a key made with `allowed_model` (a typo) could use every model, a
grant with `currancy: points` added credits, a PATCH of `is_admin` answered 200 and changed nothing."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.access.conftest import access_app
from zoetrope.access import ledger
from zoetrope.access.accounts import create_account, get_account
from zoetrope.access.keys import create_key
from zoetrope.access.models import Account, ApiKey, LedgerEntry
from zoetrope.db import transaction


@pytest.fixture
def admin(sqlite_engine):
    with transaction(sqlite_engine) as s:
        root = create_account(s, "root", is_admin=True)
        ada = create_account(s, "ada", plan="plus")
        token = create_key(s, root.id)[1]
    client = TestClient(access_app(sqlite_engine))
    client.headers["Authorization"] = f"Bearer {token}"
    return client, sqlite_engine, ada.id


def _written(engine, account_id):
    with transaction(engine) as s:
        account = get_account(s, account_id)
        counts = [s.scalar(select(func.count()).select_from(t)) for t in (Account, ApiKey, LedgerEntry)]
        return (account.plan, account.is_admin, ledger.balance(s, account_id, "points"), *counts)


@pytest.mark.parametrize(("method", "path", "body", "field", "takes"), [
    ("PATCH", "/v1/admin/accounts/{ada}", {"plna": "pro"}, "plna", "plan, country, birth_date, seats, quota"),
    ("PATCH", "/v1/admin/accounts/{ada}", {"plan": "pro", "is_admin": True}, "is_admin", "plan, country"),
    ("POST", "/v1/admin/accounts/{ada}/keys", {"name": "ci", "allowed_model": ["sora-2"]}, "allowed_model",
     "name, quota, allowed_models, expires_in"),
    ("POST", "/v1/admin/accounts/{ada}/credits", {"amount": 5, "currancy": "points"}, "currancy",
     "amount, currency, note"),
    ("POST", "/v1/admin/accounts", {"name": "eve", "plan": "pro", "sesats": 3}, "sesats", "name, plan"),
])  # fmt: skip
def test_a_field_the_admin_api_does_not_take_is_refused(admin, method, path, body, field, takes):
    client, engine, ada = admin
    before = _written(engine, ada)
    r = client.request(method, path.format(ada=ada), json=body)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["param"] == field and error["type"] == "invalid_request_error", error
    assert f"unknown field '{field}'; this takes {takes}" in error["message"], error["message"]
    assert _written(engine, ada) == before


def test_the_fields_it_takes_still_work(admin):
    client, engine, ada = admin
    r = client.post(f"/v1/admin/accounts/{ada}/keys", json={"name": "ci", "allowed_models": ["sora-2"]})
    assert r.status_code == 200 and r.json()["allowed_models"] == ["sora-2"], r.text
    r = client.post(f"/v1/admin/accounts/{ada}/credits", json={"amount": 5, "currency": "points"})
    assert r.status_code == 200 and r.json()["points"] == 5, r.text
    assert client.patch(f"/v1/admin/accounts/{ada}", json={"plan": "pro"}).json()["plan"] == "pro"
