"""A revoked key spends nothing from the moment it is revoked: the server caches who a token is for
a few seconds, but admission checks the key (and the account) again under the account's lock."""

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tests.access.conftest import access_app
from zoetrope.access import ledger
from zoetrope.access.accounts import open_account
from zoetrope.access.admission import admit
from zoetrope.access.entitlements import RequestSummary
from zoetrope.access.keys import authenticate, create_key, revoke_key
from zoetrope.access.models import Account, Charge
from zoetrope.db import transaction
from zoetrope.errors import AuthenticationFailed

REQ = RequestSummary(model="zoetrope-mini", width=640, height=480, seconds=4)


def _account(engine):
    """An account with two keys: (account id, {name: (key id, token)})."""
    with transaction(engine, immediate=True) as s:
        account = open_account(s, "ada", plan="pro")
        made = {name: create_key(s, account.id, name) for name in ("leaked", "laptop")}
        return account.id, {name: (key.id, token) for name, (key, token) in made.items()}


def _spent(engine, account_id) -> tuple[int, int]:
    with transaction(engine) as s:
        charges = s.scalar(select(func.count()).select_from(Charge).where(Charge.account_id == account_id))
        return ledger.balance(s, account_id), charges


def test_a_key_revoked_after_it_authenticated_cannot_queue_a_charged_job(engine):
    account_id, tokens = _account(engine)
    with transaction(engine, immediate=True) as s:
        cached = authenticate(s, tokens["leaked"][1])  # what the server holds for a few seconds
    with transaction(engine, immediate=True) as s:
        revoke_key(s, tokens["leaked"][0])
    before = _spent(engine, account_id)
    with transaction(engine, immediate=True) as s, pytest.raises(AuthenticationFailed) as e:
        admit(s, cached, REQ, "video_after_revoke")
    assert e.value.status == 401 and tokens["leaked"][0] in e.value.message and "revoked" in e.value.message
    assert _spent(engine, account_id) == before  # nothing reserved, no charge row
    with transaction(engine, immediate=True) as s:  # the account's other key still works
        admitted = admit(s, authenticate(s, tokens["laptop"][1]), REQ, "video_other_key")
    assert admitted.credits == 4


def test_a_disabled_account_cannot_queue_a_charged_job(engine):
    account_id, tokens = _account(engine)
    with transaction(engine, immediate=True) as s:
        cached = authenticate(s, tokens["laptop"][1])
        s.get(Account, account_id).disabled_at = datetime.now(UTC)
    before = _spent(engine, account_id)
    with transaction(engine, immediate=True) as s, pytest.raises(AuthenticationFailed, match="disabled"):
        admit(s, cached, REQ, "video_disabled")
    assert _spent(engine, account_id) == before


def test_revoking_through_the_admin_api_refuses_the_key_at_once(engine):
    account_id, tokens = _account(engine)
    with transaction(engine, immediate=True) as s:
        root = open_account(s, "root", is_admin=True)
        admin = {"Authorization": f"Bearer {create_key(s, root.id)[1]}"}
    client = TestClient(access_app(engine))
    leaked = {"Authorization": f"Bearer {tokens['leaked'][1]}"}
    assert client.get("/v1/usage", headers=leaked).status_code == 200  # now cached by the server
    assert client.delete(f"/v1/admin/keys/{tokens['leaked'][0]}", headers=admin).status_code == 200
    r = client.get("/v1/usage", headers=leaked)
    assert r.status_code == 401, r.text
    assert r.json()["error"]["code"] == "invalid_api_key" and "revoked" in r.json()["error"]["message"]
    laptop = {"Authorization": f"Bearer {tokens['laptop'][1]}"}
    assert client.get("/v1/usage", headers=laptop).status_code == 200
