"""Accounts are found by id or by name, so no account may be named like an id: an operator's mistyped
id would otherwise make a new account (`keys create --account`) with a key and a month of credits, or
name an account that commands then mistake for the one whose id it is."""

from datetime import date

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from zoetrope.access.accounts import create_account, get_account, open_account
from zoetrope.access.models import Account, ApiKey, new_id
from zoetrope.cli import app
from zoetrope.db import transaction
from zoetrope.errors import InvalidRequest

BORN = date(1990, 1, 1)


def _count(engine, table=Account) -> int:
    with transaction(engine) as s:
        return s.scalar(select(func.count()).select_from(table))


def test_a_name_shaped_like_an_account_id_is_refused(engine):
    with transaction(engine, immediate=True) as s:
        bob = open_account(s, "bob").id
    for name in (bob, bob[:-3], new_id("acct")):
        with transaction(engine, immediate=True) as s, pytest.raises(InvalidRequest) as e:
            create_account(s, name)
        assert e.value.param == "name" and "check the id" in e.value.message
    assert _count(engine) == 1
    with transaction(engine, immediate=True) as s:  # a name that merely starts so, an email say, is fine
        create_account(s, "acct_ops@example.com")


def test_an_id_finds_its_account_before_one_named_like_it(engine):
    bob_id = new_id("acct")
    with transaction(engine, immediate=True) as s:  # as a database from before names were checked may hold
        s.add(Account(id=new_id("acct"), name=bob_id, plan="plus", country="US", birth_date=BORN))
        s.flush()
        s.add(Account(id=bob_id, name="bob", plan="plus", country="US", birth_date=BORN))
    with transaction(engine) as s:
        assert get_account(s, bob_id).name == "bob"
        assert get_account(s, "bob").id == bob_id


def test_keys_create_with_a_mistyped_id_makes_no_account():
    from zoetrope.db import engine_for
    from zoetrope.settings import get_settings

    runner = CliRunner()
    assert runner.invoke(app, ["accounts", "create", "bob"]).exit_code == 0
    engine = engine_for(get_settings().resolved_database_url)
    with transaction(engine) as s:
        bob = get_account(s, "bob").id
    result = runner.invoke(app, ["keys", "create", "--account", bob[:-1]])  # one digit lost in the copy
    assert isinstance(result.exception, InvalidRequest), result.output
    assert result.exception.param == "--account" and "check the id" in result.exception.message
    assert (_count(engine), _count(engine, ApiKey)) == (1, 0)
    assert runner.invoke(app, ["keys", "create", "--account", bob]).exit_code == 0
    assert (_count(engine), _count(engine, ApiKey)) == (1, 1)
