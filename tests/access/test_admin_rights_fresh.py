"""The admin API checks the caller's admin right afresh on every call: an admin demoted, disabled or
whose key is revoked from the CLI or another server process loses it at once, not once the few
seconds' cache of who a token is runs out."""

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from tests.access.conftest import access_app
from zoetrope.access.accounts import open_account, update_account
from zoetrope.access.keys import create_key, revoke_key
from zoetrope.access.models import Account
from zoetrope.db import transaction


@pytest.fixture
def admin(engine):
    with transaction(engine, immediate=True) as s:
        root = open_account(s, "root", is_admin=True)
        key, token = create_key(s, root.id)
    client = TestClient(access_app(engine))
    auth = {"Authorization": f"Bearer {token}"}
    assert client.get("/v1/admin/accounts", headers=auth).status_code == 200  # now cached by the server
    return engine, root.id, key.id, client, auth


def test_a_demoted_admin_loses_the_admin_api_at_once(admin):
    engine, root_id, _, client, auth = admin
    with transaction(engine, immediate=True) as s:  # `zoetrope accounts set`, another process
        update_account(s, root_id, is_admin=False)
    r = client.get("/v1/admin/accounts", headers=auth)
    assert r.status_code == 403 and r.json()["error"]["code"] == "admin_only", r.text
    assert client.get("/v1/usage", headers=auth).status_code == 200  # still a key of its account


def test_a_disabled_admin_or_a_revoked_admin_key_loses_the_admin_api_at_once(admin):
    engine, root_id, key_id, client, auth = admin
    with transaction(engine, immediate=True) as s:
        revoke_key(s, key_id)
    r = client.get("/v1/admin/plans", headers=auth)
    assert r.status_code == 401 and "revoked" in r.json()["error"]["message"], r.text
    with transaction(engine, immediate=True) as s:
        other = create_key(s, root_id, "second")[1]
    second = {"Authorization": f"Bearer {other}"}
    assert client.get("/v1/admin/plans", headers=second).status_code == 200
    with transaction(engine, immediate=True) as s:
        s.get(Account, root_id).disabled_at = datetime.now(UTC)
    r = client.get("/v1/admin/plans", headers=second)
    assert r.status_code == 401 and "disabled" in r.json()["error"]["message"], r.text
