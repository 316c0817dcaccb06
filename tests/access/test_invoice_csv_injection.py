"""The invoice CSV keeps every text cell text: an account named (or signed up with an email beginning)
like a spreadsheet formula gets a leading `'` (OWASP, CSV injection), over the admin API and the CLI."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.access.conftest import access_app
from zoetrope.access.accounts import create_account
from zoetrope.access.keys import create_key
from zoetrope.access.usage import csv_text, invoice_csv
from zoetrope.config import get_config
from zoetrope.db import transaction

FORMULAS = [
    '=HYPERLINK("http://evil.example","pay")',
    "+1+cmd|calc!A0@a.co",  # a valid email: the studio's signup takes it as the account's name
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
]
MONTH = "2030-01"
# Not a formula at its start, but a lone CR inside: unquoted, it would end the row there and begin the next.
SPLIT = "ada\r=1+1"
NAMES = [*FORMULAS, SPLIT, "ada"]


def _rows(text: str) -> dict[str, dict]:
    return {row["account"]: row for row in csv.DictReader(io.StringIO(text, newline=""))}


def _check(rows: dict[str, dict]) -> None:
    assert set(rows) == {"'" + name for name in FORMULAS} | {SPLIT, "ada"}  # each whole, one row each
    for row in rows.values():
        assert all(not str(v).startswith(("=", "+", "-", "@", "\t", "\r")) for v in row.values()), row
    # Plain text and numbers as they were.
    assert rows["ada"]["plan"] == "plus" and rows["ada"]["seats"] == "1"


@pytest.mark.parametrize("value", FORMULAS)
def test_a_cell_that_would_begin_a_formula_is_quoted(value):
    assert csv_text(value) == "'" + value


@pytest.mark.parametrize("value", ["ada", "ada+1@example.com", "a=b", "", "'quoted", " =1"])
def test_other_text_is_left_alone(value):
    assert csv_text(value) == value


def test_invoice_csv_neutralises_formula_names(engine):
    with transaction(engine) as s:
        for name in NAMES:
            create_account(s, name)
        rows = _rows(invoice_csv(s, get_config(), MONTH))
    _check(rows)


def test_the_admin_invoice_download_neutralises_formula_names(sqlite_engine):
    app = access_app(sqlite_engine)
    with transaction(sqlite_engine) as s:
        root = create_account(s, "root", is_admin=True)
        token = create_key(s, root.id)[1]
        for name in NAMES:
            create_account(s, name)
    r = TestClient(app).get(f"/v1/admin/invoices/{MONTH}.csv", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    rows = _rows(r.text)
    assert rows.pop("root")["account_id"] == root.id
    _check(rows)


def test_the_cli_invoice_neutralises_formula_names():
    from zoetrope.cli import app

    runner = CliRunner()
    for name in ["ada", "=1+1", "+1+cmd|calc!A0@a.co"]:
        assert runner.invoke(app, ["accounts", "create", name]).exit_code == 0
    out = runner.invoke(app, ["usage", "--invoice", "--month", MONTH])
    assert out.exit_code == 0, out.output
    rows = _rows(out.output)
    assert {"ada", "'=1+1", "'+1+cmd|calc!A0@a.co"} <= set(rows)
