"""API keys with an expiry: made through the admin API (`expires_in` days) or the CLI (`--expires-in`),
listed with it, and refused from then on in OpenAI's 401 shape, by the server's principal cache and by
admission alike. Keys made before the expiry existed keep working after the migration."""

import time
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text, update
from typer.testing import CliRunner

from tests.access.conftest import access_app
from tests.jobs.conftest import _postgres_engine
from zoetrope.access import ledger
from zoetrope.access.accounts import open_account
from zoetrope.access.admission import admit
from zoetrope.access.entitlements import RequestSummary
from zoetrope.access.keys import authenticate, create_key, hash_token
from zoetrope.access.models import ApiKey, Charge
from zoetrope.db import make_engine, transaction
from zoetrope.errors import AuthenticationFailed
from zoetrope.jobs.migrate import upgrade

REQ = RequestSummary(model="zoetrope-mini", width=640, height=480, seconds=4)


@pytest.fixture
def api(engine):
    with transaction(engine, immediate=True) as s:
        root = open_account(s, "root", is_admin=True)
        ada = open_account(s, "ada", plan="pro")
        admin = {"Authorization": f"Bearer {create_key(s, root.id)[1]}"}
    return engine, ada.id, admin, TestClient(access_app(engine))


def _expire(engine, key_id, at):
    with transaction(engine, immediate=True) as s:
        s.execute(update(ApiKey).where(ApiKey.id == key_id).values(expires_at=at))


def test_a_key_made_to_expire_is_listed_with_its_expiry_and_refused_once_it_has(api):
    engine, account_id, admin, client = api
    r = client.post(f"/v1/admin/accounts/{account_id}/keys", headers=admin, json={"name": "ci", "expires_in": 30})
    assert r.status_code == 200, r.text
    made = r.json()
    expires = datetime.fromisoformat(made["expires_at"])
    assert abs(expires - (datetime.now(UTC) + timedelta(days=30))) < timedelta(minutes=1)
    listed = client.get(f"/v1/admin/keys?account={account_id}", headers=admin).json()["data"]
    assert [k["expires_at"] for k in listed] == [made["expires_at"]]
    caller = {"Authorization": f"Bearer {made['key']}"}
    assert client.get("/v1/usage", headers=caller).status_code == 200

    _expire(engine, made["id"], datetime.now(UTC) - timedelta(seconds=1))
    fresh = TestClient(access_app(engine))  # another server process: nothing cached
    r = fresh.get("/v1/usage", headers=caller)
    assert r.status_code == 401, r.text
    error = r.json()["error"]
    assert error["type"] == "authentication_error" and error["code"] == "expired_api_key"
    assert "expired on" in error["message"] and "keys create" in error["message"]


def test_the_server_does_not_serve_a_cached_key_past_its_expiry(api):
    engine, account_id, admin, client = api
    with transaction(engine, immediate=True) as s:
        key, token = create_key(s, account_id, "short", expires_at=datetime.now(UTC) + timedelta(seconds=1))
    caller = {"Authorization": f"Bearer {token}"}
    assert client.get("/v1/usage", headers=caller).status_code == 200  # now cached by the server
    time.sleep(1.2)
    r = client.get("/v1/usage", headers=caller)
    assert r.status_code == 401 and r.json()["error"]["code"] == "expired_api_key", r.text


def test_an_expired_key_cannot_queue_a_charged_job(api):
    engine, account_id, _, _ = api
    with transaction(engine, immediate=True) as s:
        key, token = create_key(s, account_id, "ci", expires_at=datetime.now(UTC) + timedelta(days=1))
        cached = authenticate(s, token)  # what the server holds for a few seconds
    _expire(engine, key.id, datetime.now(UTC) - timedelta(seconds=1))
    with transaction(engine) as s:
        before = ledger.balance(s, account_id)
    with transaction(engine, immediate=True) as s, pytest.raises(AuthenticationFailed) as e:
        admit(s, cached, REQ, "video_expired")
    assert e.value.status == 401 and e.value.code == "expired_api_key" and "expired" in e.value.message
    with transaction(engine) as s:
        assert ledger.balance(s, account_id) == before
        assert s.scalar(select(func.count()).select_from(Charge).where(Charge.account_id == account_id)) == 0


@pytest.mark.parametrize("days", [0, -3, 3651, "soon", 1.5])
def test_an_expiry_out_of_range_is_refused_naming_the_field(api, days):
    engine, account_id, admin, client = api
    r = client.post(f"/v1/admin/accounts/{account_id}/keys", headers=admin, json={"expires_in": days})
    assert r.status_code == 400 and r.json()["error"]["param"] == "expires_in", r.text
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(ApiKey).where(ApiKey.account_id == account_id)) == 0


def test_the_cli_makes_and_lists_a_key_that_expires(monkeypatch):
    from zoetrope.cli import app

    monkeypatch.setenv("COLUMNS", "250")
    runner = CliRunner()
    made = runner.invoke(app, ["keys", "create", "--account", "ada", "--expires-in", "7"], catch_exceptions=False)
    assert made.exit_code == 0, made.output
    listed = runner.invoke(app, ["keys", "list"], catch_exceptions=False).output
    assert "expires" in listed and (date.today() + timedelta(days=7)).isoformat() in listed
    refused = runner.invoke(app, ["keys", "create", "--account", "ada", "--expires-in", "0"])
    assert refused.exit_code != 0 and refused.exception.param == "--expires-in"


def _old_database_with_a_key(engine) -> str:
    """A database at the schema before key expiry, with an account and one key; the key's token."""
    upgrade(engine, "0007")
    token = "zk-made-before-expiry"
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO accounts (id, name, plan, country, birth_date, seats, is_admin, created_at) "
                 "VALUES ('acct_a', 'ada', 'pro', 'US', '1990-01-01', 1, false, '2025-06-01')"),
        )  # fmt: skip
        conn.execute(
            text("INSERT INTO api_keys (id, account_id, name, hashed_secret, prefix, created_at) "
                 "VALUES ('key_a', 'acct_a', 'old', :h, 'zk-made-be', '2025-06-01')"),
            {"h": hash_token(token)},
        )  # fmt: skip
    return token


def _migrated_key_still_works(engine, token) -> None:
    upgrade(engine)
    with transaction(engine, immediate=True) as s:
        assert s.get(ApiKey, "key_a").expires_at is None
        assert authenticate(s, token).key_id == "key_a"


def test_the_expiry_migration_keeps_existing_keys_working_on_sqlite(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    _migrated_key_still_works(engine, _old_database_with_a_key(engine))
    engine.dispose()


def test_the_expiry_migration_keeps_existing_keys_working_on_postgres():
    engine, admin, schema = _postgres_engine()
    try:
        _migrated_key_still_works(engine, _old_database_with_a_key(engine))
    finally:
        engine.dispose()
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
