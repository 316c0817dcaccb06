from datetime import date

import pytest

from zoetrope.access import authenticate, create_account, create_key, get_account, list_keys, revoke_key
from zoetrope.db import transaction
from zoetrope.errors import AuthenticationFailed, Conflict, InvalidRequest, NotFound


def test_create_account_defaults_and_lookup_by_id_or_name(engine):
    with transaction(engine) as s:
        acct = create_account(s, "ada")
        assert acct.id.startswith("acct_") and acct.plan == "plus" and acct.country == "US"
        assert acct.birth_date == date(1990, 1, 1) and acct.seats == 1
    with transaction(engine) as s:
        assert get_account(s, acct.id).name == "ada"
        assert get_account(s, "ada").id == acct.id
        with pytest.raises(NotFound):
            get_account(s, "acct_nope")


def test_account_names_are_unique_and_plans_must_exist(engine):
    with transaction(engine) as s:
        create_account(s, "ada")
        with pytest.raises(Conflict):
            create_account(s, "ada")
        with pytest.raises(InvalidRequest, match="known plans"):
            create_account(s, "bob", plan="platinum")
        with pytest.raises(InvalidRequest, match="ISO"):
            create_account(s, "bob", country="USA")


def test_key_is_shown_once_stored_hashed_and_authenticates(engine):
    with transaction(engine) as s:
        acct = create_account(s, "ada", plan="pro")
        key, token = create_key(s, acct.id, "ci")
        assert token.startswith("zk-") and len(token) > 40
        assert key.hashed_secret != token and token not in key.hashed_secret
        assert token.startswith(key.prefix)
    with transaction(engine) as s:
        p = authenticate(s, token)
        assert (p.account_id, p.key_id, p.plan.name) == (acct.id, key.id, "pro")
        assert authenticate(s, f"Bearer {token}").key_id == key.id
        assert list_keys(s, acct.id)[0].last_used_at is not None


def test_several_keys_per_account_and_revocation_is_per_key(engine):
    with transaction(engine) as s:
        acct = create_account(s, "ada")
        k1, t1 = create_key(s, acct.id, "laptop")
        _, t2 = create_key(
            s, acct.id, "server", allowed_models=["zoetrope-mini"], quota={"requests_per_minute": 5}
        )
        revoke_key(s, k1.id)
    with transaction(engine) as s:
        with pytest.raises(AuthenticationFailed, match="revoked"):
            authenticate(s, t1)
        p = authenticate(s, t2)
        assert p.allowed_models == ("zoetrope-mini",) and p.key_quota == {"requests_per_minute": 5}
        assert [k.name for k in list_keys(s, acct.id)] == ["laptop", "server"]


def test_authentication_failures_say_why(engine):
    with transaction(engine) as s:
        with pytest.raises(AuthenticationFailed, match="missing"):
            authenticate(s, "")
        with pytest.raises(AuthenticationFailed, match="zk-"):
            authenticate(s, "sk-123")
        with pytest.raises(AuthenticationFailed, match="no such key"):
            authenticate(s, "zk-" + "x" * 43)


def test_revoke_is_scoped_to_the_owning_account(engine):
    with transaction(engine) as s:
        a = create_account(s, "ada")
        b = create_account(s, "bob")
        key, _ = create_key(s, a.id)
        with pytest.raises(NotFound):
            revoke_key(s, key.id, account_id=b.id)
