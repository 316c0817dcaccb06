"""`/v1/usage` and the admin API over HTTP, with the API's own auth and error mapping."""

from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from tests.access.conftest import access_app
from zoetrope.access import ledger
from zoetrope.access.accounts import create_account, get_account, list_accounts
from zoetrope.access.admission import admit
from zoetrope.access.entitlements import RequestSummary
from zoetrope.access.keys import authenticate, create_key
from zoetrope.db import transaction


@pytest.fixture
def api(sqlite_engine):
    app = access_app(sqlite_engine)
    with transaction(sqlite_engine) as s:
        root = create_account(s, "root", is_admin=True)
        user = create_account(s, "ada", plan="pro")
        _, admin_token = create_key(s, root.id)
        _, user_token = create_key(s, user.id)
    client = TestClient(app)
    return SimpleNamespace(
        client=client,
        engine=sqlite_engine,
        user=user.id,
        admin={"Authorization": f"Bearer {admin_token}"},
        ada={"Authorization": f"Bearer {user_token}"},
        token=user_token,
    )


def _generate(api, job_id="video_1"):
    with transaction(api.engine, immediate=True) as s:
        p = authenticate(s, api.token)
        admit(s, p, RequestSummary(model="zoetrope-mini", width=1280, height=720, seconds=10), job_id)
    with transaction(api.engine) as s:
        ledger.capture(s, job_id)


def test_usage_reports_the_callers_plan_balance_and_metering(api):
    _generate(api)
    body = api.client.get("/v1/usage?group_by=model", headers=api.ada).json()
    assert body["plan"] == "pro" and body["credits"] == 10000 - 20
    assert body["total"]["generations"] == 1 and body["total"]["seconds"] == 10
    assert body["key"]["credits"] == 20 and body["data"][0]["group"] == "zoetrope-mini"


def test_usage_needs_a_key(api):
    r = api.client.get("/v1/usage")
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"


def test_admin_api_is_refused_to_non_admins(api):
    r = api.client.get("/v1/admin/accounts", headers=api.ada)
    assert r.status_code == 403 and r.json()["error"]["code"] == "admin_only"


def test_admin_manages_accounts_keys_and_credits(api):
    c, h = api.client, api.admin
    made = c.post("/v1/admin/accounts", json={"name": "eve", "plan": "team", "seats": 2}, headers=h).json()
    assert made["plan"] == "team" and made["seats"] == 2
    assert made["credits"] == 2 * 1000  # this month's per-seat credits, at once
    assert (
        c.patch(f"/v1/admin/accounts/{made['id']}", json={"plan": "pro"}, headers=h).json()["plan"] == "pro"
    )
    assert (
        c.post(f"/v1/admin/accounts/{made['id']}/credits", json={"amount": 5}, headers=h).json()["credits"]
        == 10005  # raised to pro's month by the change of plan, then the grant
    )
    key = c.post(f"/v1/admin/accounts/{made['id']}/keys", json={"name": "ci"}, headers=h).json()
    assert key["key"].startswith("zk-")
    listed = c.get("/v1/admin/keys?account=eve", headers=h).json()["data"]
    assert [k["name"] for k in listed] == ["ci"] and "key" not in listed[0]
    assert c.delete(f"/v1/admin/keys/{key['id']}", headers=h).json()["revoked_at"]
    assert {a["name"] for a in c.get("/v1/admin/accounts", headers=h).json()["data"]} == {
        "root",
        "ada",
        "eve",
    }
    assert c.post("/v1/admin/accounts", json={"name": "x", "plan": "gold"}, headers=h).status_code == 400
    assert c.get("/v1/admin/accounts/acct_nope", headers=h).status_code == 404


def test_admin_plans_usage_by_group_and_invoice_csv(api):
    _generate(api)
    c, h = api.client, api.admin
    assert {p["name"] for p in c.get("/v1/admin/plans", headers=h).json()["data"]} >= {
        "plus",
        "pro",
        "bing-free",
    }
    for group in ("day", "model", "account", "key"):
        rows = c.get(f"/v1/admin/usage?group_by={group}", headers=h).json()["data"]
        assert sum(r["credits"] for r in rows) == 20
    assert c.get("/v1/admin/usage?group_by=planet", headers=h).status_code == 400
    from datetime import date

    r = c.get(f"/v1/admin/invoices/{date.today():%Y-%m}.csv", headers=h)
    assert r.headers["content-type"].startswith("text/csv")
    line = next(x for x in r.text.splitlines() if ",ada," in x)
    assert ",pro,1,200.00,1,1,10,20,0" in line


@pytest.mark.parametrize(
    ("method", "path", "body", "param"),
    [
        ("PATCH", "/v1/admin/accounts/{ada}", {"quota": {"requests_per_minute": "abc"}}, "quota.requests_per_minute"),
        ("PATCH", "/v1/admin/accounts/{ada}", {"quota": {"rpm": 5}}, "quota.rpm"),
        ("POST", "/v1/admin/accounts/{ada}/keys", {"quota": {"requests_per_minute": 0}}, "quota.requests_per_minute"),
        ("POST", "/v1/admin/accounts", {"name": "q", "quota": {"seconds_per_day": -1}}, "quota.seconds_per_day"),
        ("POST", "/v1/admin/accounts/{ada}/credits", {"amount": 2**63}, "amount"),
        ("POST", "/v1/admin/accounts/{ada}/credits", {"amount": 0}, "amount"),
        ("POST", "/v1/admin/accounts", {"name": "z", "seats": 2**70}, "seats"),
        ("POST", "/v1/admin/accounts", {"name": ""}, "name"),
        ("PATCH", "/v1/admin/accounts/{ada}", {"birth_date": "2999-01-01"}, "birth_date"),
    ],
)
def test_admin_refuses_values_that_would_break_later_requests(api, method, path, body, param):
    """A quota, number or date that the database or a later create could not use is a 400 naming
    the field now, and nothing of it is stored; before, it was accepted and broke every create."""
    with transaction(api.engine) as s:
        before = (len(list_accounts(s)), ledger.balance(s, api.user), get_account(s, api.user).quota)
    r = api.client.request(method, path.format(ada=api.user), json=body, headers=api.admin)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error", error
    with transaction(api.engine) as s:
        assert (len(list_accounts(s)), ledger.balance(s, api.user), get_account(s, api.user).quota) == before


def test_a_valid_quota_is_stored_and_applies(api):
    r = api.client.patch(
        f"/v1/admin/accounts/{api.user}", json={"quota": {"requests_per_minute": 7}}, headers=api.admin
    )
    assert r.status_code == 200 and r.json()["quota"] == {"requests_per_minute": 7}, r.text
    r = api.client.post(
        f"/v1/admin/accounts/{api.user}/keys", json={"quota": {"seconds_per_day": 30}}, headers=api.admin
    )
    assert r.status_code == 200 and r.json()["quota"] == {"seconds_per_day": 30.0}, r.text


def test_usage_month_is_answered_in_one_spelling(api):
    r = api.client.get("/v1/usage", params={"month": "2025-1"}, headers=api.ada)
    assert r.status_code == 200 and r.json()["month"] == "2025-01", r.text
    assert api.client.get("/v1/usage", params={"month": "2025-13"}, headers=api.ada).json()["error"]["param"] == "month"
