"""The studio over HTTP: the balance a page shows is this month's before the month's first create
(header, account page, admin page), and a key name with invisible format characters (a
right-to-left override before "evil" shows it as "live") is refused by the form, naming the field."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time

import httpx
import pytest

from tests.web.conftest import PASSWORD

pytestmark = pytest.mark.timeout(600)


def _last_month(today: date) -> date:
    return date(today.year - (today.month == 1), (today.month - 2) % 12 + 1, 15)


def _signed_in(studio, email: str) -> tuple[httpx.Client, str]:
    c = httpx.Client(base_url=studio.url, timeout=60)
    r = c.post("/signin", data={"email": email, "password": PASSWORD, "next": "/account"})
    assert r.status_code == 303, r.text
    return c, re.search(r'name="csrf" content="([^"]+)"', c.get("/account").text).group(1)


def _header_credits(page: str) -> int:
    return int(re.search(r"data-credits>(\d+)<", page).group(1))


def test_pages_show_this_months_credits_before_the_months_first_create(studio):
    """An account granted last month, which spent some of it then and has not created since."""
    from zoetrope.access import ledger
    from zoetrope.access.accounts import create_account
    from zoetrope.access.admission import admit
    from zoetrope.access.entitlements import RequestSummary
    from zoetrope.access.keys import principal_for
    from zoetrope.config import get_config
    from zoetrope.db import make_engine, transaction
    from zoetrope.web.models import StudioUser
    from zoetrope.web.session import hash_password

    email = "last-month@example.com"
    engine = make_engine(f"sqlite:///{studio.data_dir / 'zoetrope.db'}")
    then = datetime.combine(_last_month(date.today()), time(12), UTC)
    with transaction(engine, immediate=True) as s:
        account = create_account(s, email, plan="plus")
        s.add(StudioUser(account_id=account.id, email=email, password_hash=hash_password(PASSWORD)))
        req = RequestSummary(model="zoetrope-mini", width=640, height=480, seconds=4)
        spent = admit(s, principal_for(account), req, "video_web_last_month", now=then)  # grants last month
        ledger.capture(s, spent.job_id)
        account_id = account.id
        assert ledger.balance(s, account_id) == get_config().plan("plus").monthly_credits - spent.credits
    monthly = get_config().plan("plus").monthly_credits

    c, _ = _signed_in(studio, email)
    assert (
        _header_credits(c.get("/create").text) == monthly
    )  # last month's rest expired, this month's granted
    account_page = c.get("/account").text
    assert _header_credits(account_page) == monthly
    assert re.search(rf"<span class=\"muted\">Credits</span><b>{monthly}</b>", account_page)
    assert c.get("/v1/usage").json()["credits"] == monthly  # the same as the API says, granted once
    with transaction(engine) as s:
        assert ledger.balance(s, account_id) == ledger.ledger_sum(s, account_id) == monthly
    engine.dispose()


def test_the_admin_page_shows_this_months_credits_of_an_account_not_yet_in_it(studio):
    from zoetrope.access import ledger
    from zoetrope.access.accounts import create_account
    from zoetrope.config import get_config
    from zoetrope.db import make_engine, transaction

    engine = make_engine(f"sqlite:///{studio.data_dir / 'zoetrope.db'}")
    with transaction(engine, immediate=True) as s:
        account = create_account(s, "not-yet-this-month", plan="pro")  # never granted anything
        account_id = account.id
    monthly = get_config().plan("pro").monthly_credits
    c, _ = _signed_in(studio, "root@example.com")
    page = c.get("/admin").text
    row = re.search(r"<tr><td>not-yet-this-month</td>.*?</tr>", page, re.S).group(0)
    assert re.findall(r"<td>([^<]*)</td>", row)[3] == str(monthly), row
    with transaction(engine) as s:
        assert ledger.balance(s, account_id) == monthly
    engine.dispose()


@pytest.mark.parametrize(
    ("name", "shown"),
    [("\u202eevil", "U+202E"), ("ok\u200bname", "U+200B"), ("tab\u2066x", "U+2066"), ("nl\nx", "U+000A")],
)
def test_a_key_name_with_invisible_format_characters_is_refused_naming_the_field(studio, name, shown):
    c, csrf = _signed_in(studio, "ivy@example.com")
    before = c.get("/account").text.count("data-key=")
    r = c.post("/account/keys", data={"name": name, "csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303 and "error=" in r.headers["location"] and "at=keys" in r.headers["location"]
    page = c.get(r.headers["location"]).text
    alert = re.search(
        r'<section class="card" id="keys">.*?<p class="error" role="alert">([^<]*)</p>', page, re.S
    )
    assert alert is not None, page[-3000:]
    assert alert.group(1).startswith("Key name ") and shown in alert.group(1) and "remove" in alert.group(1)
    assert page.count("data-key=") == before  # no key was made
    assert 'id="new-key"' not in page


def test_a_key_name_in_another_script_or_with_an_emoji_is_kept(studio):
    c, csrf = _signed_in(studio, "ivy@example.com")
    for name in ("ключ مفتاح", "team 👩\u200d💻"):
        r = c.post("/account/keys", data={"name": name, "csrf": csrf}, follow_redirects=False)
        assert r.headers["location"] == "/account#keys", r.headers
        assert f"<td>{name}</td>" in c.get("/account").text


def test_a_key_named_elsewhere_with_an_override_shows_it_written_out(studio):
    from zoetrope.access.accounts import find_account
    from zoetrope.access.keys import create_key
    from zoetrope.db import make_engine, transaction

    engine = make_engine(f"sqlite:///{studio.data_dir / 'zoetrope.db'}")
    with transaction(engine, immediate=True) as s:  # as the API or the CLI may name it
        create_key(s, find_account(s, "ivy").id, name="\u202eevil")
    engine.dispose()
    c, _ = _signed_in(studio, "ivy@example.com")
    page = c.get("/account").text
    assert "<td>[U+202E]evil</td>" in page and "\u202e" not in page
    assert 'data-confirm="Revoke the key [U+202E]evil?' in page
