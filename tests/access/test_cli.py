"""`zoetrope accounts|keys|usage` against the same database the server uses."""

from typer.testing import CliRunner

from zoetrope.access import list_keys
from zoetrope.cli import app
from zoetrope.db import engine_for, transaction
from zoetrope.settings import get_settings

runner = CliRunner()


def run(*args: str) -> str:
    result = runner.invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def test_keys_create_makes_the_account_and_prints_the_key_once(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    out = run("keys", "create", "--account", "ada", "--plan", "pro", "--name", "laptop")
    token = out.strip().splitlines()[-1]
    assert token.startswith("zk-")
    listed = run("keys", "list")
    assert "laptop" in listed and token not in listed
    assert "pro" in run("accounts", "list")
    assert "10000 credits" in run("accounts", "show", "ada")  # pro's month, granted at once


def test_key_from_the_cli_authenticates_against_the_server_database():
    from zoetrope.access import authenticate

    token = run("keys", "create", "--account", "bob").strip().splitlines()[-1]
    with transaction(engine_for(get_settings().resolved_database_url)) as s:
        assert authenticate(s, token).plan.name == "plus"


def test_accounts_create_show_set_grant_and_revoke():
    assert "created acct_" in run(
        "accounts", "create", "eve", "--plan", "team", "--seats", "3", "--country", "gb"
    )
    run("accounts", "set", "eve", "--plan", "pro", "--rpm", "10")
    run("accounts", "grant", "eve", "50")
    shown = run("accounts", "show", "eve")
    # Three seats of team's month at creation (3 x 1,000), raised to pro's 10,000 by the change, then the grant.
    assert "plan pro" in shown and " 10050 credits" in shown and "country GB" in shown
    run("keys", "create", "--account", "eve")
    assert "key_" in run("keys", "list", "--account", "eve")
    with transaction(engine_for(get_settings().resolved_database_url)) as s:
        key_id = list_keys(s)[0].id
    assert f"revoked {key_id}" in run("keys", "revoke", key_id)


def test_usage_and_invoice_csv():
    run("accounts", "create", "ada", "--plan", "pro")
    assert "usage" in run("usage", "--by", "model")
    csv = run("usage", "--invoice", "--month", "2030-01")
    assert csv.splitlines()[0].startswith("month,account_id,account,plan")
    assert ",ada,pro,1,200.00," in csv
    # A month typed without its leading zero is that month, written whole on every invoice line.
    short = run("usage", "--invoice", "--month", "2030-1").splitlines()[1:]
    assert short and all(line.startswith("2030-01,") for line in short), short


def test_errors_are_one_clear_line():
    result = runner.invoke(app, ["accounts", "create", "x", "--plan", "platinum"])
    assert result.exit_code != 0 and "known plans" in str(result.exception)


def test_a_grant_of_nothing_is_refused_and_leaves_no_ledger_entry():
    from sqlalchemy import func, select

    from zoetrope.access.models import LedgerEntry

    run("accounts", "create", "ada", "--plan", "pro")
    engine = engine_for(get_settings().resolved_database_url)
    with transaction(engine) as s:
        before = s.scalar(select(func.count()).select_from(LedgerEntry))
    result = runner.invoke(app, ["accounts", "grant", "ada", "0"])
    assert result.exit_code != 0 and "amount must not be 0" in str(result.exception)
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(LedgerEntry)) == before


def test_keys_create_refuses_a_plan_it_would_not_apply_and_models_the_server_lacks():
    run("accounts", "create", "ada", "--plan", "pro")
    result = runner.invoke(app, ["keys", "create", "--account", "ada", "--plan", "free"])
    assert result.exit_code != 0 and "accounts set ada --plan free" in str(result.exception)
    assert result.exception.param == "--plan"
    result = runner.invoke(app, ["keys", "create", "--account", "ada", "--model", "sora-3"])
    assert result.exit_code != 0 and result.exception.param == "--model"
    assert "unknown model 'sora-3' in --model" in str(result.exception) and "zoetrope-mini" in str(result.exception)
    with transaction(engine_for(get_settings().resolved_database_url)) as s:
        assert list_keys(s) == []  # neither left a key behind
    run("keys", "create", "--account", "ada", "--plan", "pro", "--model", "sora-2")  # its own plan: fine
    assert "pro" in run("accounts", "show", "ada")


def test_key_ids_stay_whole_in_a_narrow_terminal_so_they_can_be_copied(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    run("keys", "create", "--account", "ada", "--model", "zoetrope-mini", "--name", "a label long enough to wrap")
    with transaction(engine_for(get_settings().resolved_database_url)) as s:
        key_id, account_id = list_keys(s)[0].id, list_keys(s)[0].account_id
    assert key_id in run("keys", "list")
    assert account_id in run("accounts", "list")


def test_an_account_can_be_made_admin_and_back():
    run("accounts", "create", "ada")
    assert "admin" in run("accounts", "set", "ada", "--admin").splitlines()[-1]
    with transaction(engine_for(get_settings().resolved_database_url)) as s:
        from zoetrope.access.accounts import find_account

        assert find_account(s, "ada").is_admin
    assert "admin" not in run("accounts", "set", "ada", "--no-admin").splitlines()[-1]


def test_accounts_show_and_list_give_this_months_balance_and_the_seats_concurrency(monkeypatch):
    """A 3-seat team runs 3 jobs at once; an account not yet granted this month (made here without
    the grant `accounts create` gives) shows this month's credits in `accounts list` and `show`."""
    from zoetrope.access.accounts import create_account
    from zoetrope.config import get_config

    monkeypatch.setenv("COLUMNS", "200")
    run("accounts", "list")  # the database, migrated
    with transaction(engine_for(get_settings().resolved_database_url), immediate=True) as s:
        create_account(s, "tess", plan="team", seats=3)
    monthly = 3 * get_config().plan("team").monthly_credits
    assert f" {monthly} " in next(line for line in run("accounts", "list").splitlines() if "tess" in line)
    shown = run("accounts", "show", "tess")
    assert "3 concurrent" in shown, shown
    assert f"balance: {monthly} credits" in shown, shown
