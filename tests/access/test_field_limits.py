"""Free text an admin or a person sends (a key's name, a grant's note, an account's name, a signup's
email) is at most what its column stores: a 400 naming the field and its limit before anything is
written (CLI: the option, exit 2), on PostgreSQL, which would fail the INSERT, and on SQLite, which
would keep it whole."""

from __future__ import annotations

import os
import sys
import uuid
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select, text
from typer.testing import CliRunner

from tests.access.conftest import access_app
from zoetrope.access import ledger
from zoetrope.access.accounts import create_account
from zoetrope.access.keys import create_key
from zoetrope.access.models import Account, ApiKey, LedgerEntry
from zoetrope.cli import app as cli
from zoetrope.db import transaction
from zoetrope.errors import InvalidRequest

LONG = "x" * 201
PG_URL = os.environ.get("ZOETROPE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture
def api(engine):
    app = access_app(engine)
    with transaction(engine) as s:
        root = create_account(s, "root", is_admin=True)
        user = create_account(s, "ada", plan="pro")
        _, admin_token = create_key(s, root.id)
    return SimpleNamespace(
        client=TestClient(app), engine=engine, user=user.id, admin={"Authorization": f"Bearer {admin_token}"}
    )


def _counts(engine) -> tuple[int, int, int]:
    with transaction(engine) as s:
        return tuple(s.scalar(select(func.count()).select_from(t)) for t in (Account, ApiKey, LedgerEntry))


def _refused(r, param: str) -> None:
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert error["param"] == param and "200" in error["message"], error


def test_a_grant_note_over_200_characters_is_a_400_naming_note(api):
    before = _counts(api.engine)
    r = api.client.post(
        f"/v1/admin/accounts/{api.user}/credits", json={"amount": 5, "note": LONG}, headers=api.admin
    )
    _refused(r, "note")
    assert _counts(api.engine) == before
    ok = api.client.post(
        f"/v1/admin/accounts/{api.user}/credits", json={"amount": 5, "note": "y" * 200}, headers=api.admin
    )
    assert ok.status_code == 200, ok.text


def test_a_key_name_over_200_characters_is_a_400_naming_name(api):
    before = _counts(api.engine)
    _refused(
        api.client.post(f"/v1/admin/accounts/{api.user}/keys", json={"name": LONG}, headers=api.admin), "name"
    )
    assert _counts(api.engine) == before
    ok = api.client.post(f"/v1/admin/accounts/{api.user}/keys", json={"name": "y" * 200}, headers=api.admin)
    assert ok.status_code == 200 and ok.json()["name"] == "y" * 200


def test_an_account_name_over_200_characters_is_a_400_naming_name(api):
    before = _counts(api.engine)
    _refused(api.client.post("/v1/admin/accounts", json={"name": LONG}, headers=api.admin), "name")
    assert _counts(api.engine) == before


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/v1/admin/accounts/{user}/keys", {"name": "lap\u0000top"}, "name"),
        ("/v1/admin/accounts/{user}/credits", {"amount": 1, "note": "why\u0000"}, "note"),
        ("/v1/admin/accounts", {"name": "eve\u0000"}, "name"),
    ],
)
def test_a_nul_character_is_a_400_naming_the_field(api, path, body, param):
    before = _counts(api.engine)
    r = api.client.post(path.format(user=api.user), json=body, headers=api.admin)
    assert r.status_code == 400 and r.json()["error"]["param"] == param, r.text
    assert _counts(api.engine) == before


def test_the_shared_functions_check_the_limit_themselves(engine):
    with transaction(engine) as s:
        account = create_account(s, "ada")
        with pytest.raises(InvalidRequest) as key_name:
            create_key(s, account.id, LONG)
        with pytest.raises(InvalidRequest) as note:
            ledger.grant(s, account.id, 5, note=LONG)
    assert key_name.value.param == "name" and "limit is 200" in key_name.value.message
    assert note.value.param == "note" and "limit is 200" in note.value.message


# The CLI, on the server's database: SQLite (the data directory's), and PostgreSQL in a schema of its own.


@pytest.fixture(params=["sqlite", "postgres"])
def cli_database(request, monkeypatch):
    if request.param == "sqlite":
        yield
        return
    admin = create_engine(PG_URL, connect_args={"connect_timeout": 3})
    try:
        with admin.begin() as conn:
            schema = f"cli_{uuid.uuid4().hex[:10]}"
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as e:
        pytest.skip(f"PostgreSQL unreachable at {PG_URL}: {e}")
    monkeypatch.setenv("ZOETROPE_DATABASE_URL", f"{PG_URL}?options=-csearch_path%3D{schema}")
    from zoetrope.settings import get_settings

    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _cli(*args: str):
    return CliRunner().invoke(cli, list(args))


def _shown() -> str:
    """Every account, and ada's balance and keys."""
    listed, shown = _cli("accounts", "list"), _cli("accounts", "show", "ada")
    assert listed.exit_code == 0 and shown.exit_code == 0, listed.output + shown.output
    return listed.output + shown.output


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["keys", "create", "--account", "ada", "--name", LONG], "--name"),
        (["keys", "create", "--account", LONG], "--account"),
        (["accounts", "create", LONG], "name"),
        (["accounts", "grant", "ada", "5", "--note", LONG], "--note"),
    ],
    ids=["key-name", "new-account", "account-name", "note"],
)
def test_the_cli_refuses_text_over_the_limit_naming_the_option(cli_database, monkeypatch, args, option):
    monkeypatch.setenv("COLUMNS", "300")
    assert _cli("accounts", "create", "ada").exit_code == 0
    before = _shown()
    result = _cli(*args)
    assert isinstance(result.exception, InvalidRequest), result.output
    assert result.exception.param == option and "limit is 200" in result.exception.message
    assert _shown() == before  # no account, key or ledger entry written


def test_zoetrope_keys_create_with_a_long_name_exits_2_with_one_clear_line(monkeypatch, capsys):
    from zoetrope.cli import main

    monkeypatch.setattr(sys, "argv", ["zoetrope", "keys", "create", "--account", "ada", "--name", LONG])
    monkeypatch.setenv("COLUMNS", "200")
    with pytest.raises(SystemExit) as exit:
        main()
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert "--name" in err and "limit is 200" in err and "Traceback" not in err


# The studio's signup: the account is named by the email, so an email is at most 200 characters there.


def test_signup_with_an_email_longer_than_an_account_name_is_a_400(tmp_path):
    from zoetrope.api import errors
    from zoetrope.db import make_engine
    from zoetrope.jobs.migrate import upgrade
    from zoetrope.web import mount

    engine = make_engine(f"sqlite:///{tmp_path / 'studio.db'}")
    upgrade(engine)
    app = FastAPI()
    app.state.services = SimpleNamespace(engine=engine)
    errors.install(app)
    mount(app)
    client = TestClient(app, follow_redirects=False)
    email = "a" * 190 + "@example.com"  # 202 characters: a valid address, over an account name's 200
    r = client.post("/signup", data={"email": email, "password": "long enough pw"})
    assert r.status_code == 400 and "200" in r.text
    assert _counts(engine)[0] == 0
    ok = client.post("/signup", data={"email": "+1+cmd|calc!A0@a.co", "password": "long enough pw"})
    assert ok.status_code == 303, ok.text  # RFC 5321 allows it; the invoice CSV keeps it text
    engine.dispose()
