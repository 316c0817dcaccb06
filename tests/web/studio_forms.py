"""Studio page helpers for browser tests: a fresh account, a price line once quoted, the requests a page sends."""

from __future__ import annotations

PASSWORD = "correct horse battery"


def sign_up(p, email: str):
    """A new plus account, signed in on the Create page: its library and credits are the test's alone."""
    page = p.goto("/signup")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/create")
    return page


def credits(page) -> int:
    return page.evaluate("async () => (await Studio.api('GET', '/v1/usage')).credits")


def price(page, selector: str, pattern: str) -> int:
    """The credits a price line shows once it reads `pattern` (the form's last state, quoted)."""
    page.wait_for_function(
        "([s, p]) => new RegExp(p).test(document.querySelector(s).textContent)", arg=[selector, pattern]
    )
    return int(page.locator(selector).inner_text().split()[0])


def sent(page) -> list[tuple[str, str, bool]]:
    """Every request the page sends from now on: method, path and whether it asked for a quote."""
    sent = []
    page.on(
        "request",
        lambda r: sent.append(
            (r.method, r.url.split("://", 1)[1].split("/", 1)[1].split("?")[0], "zoetrope-quote" in r.headers)
        ),
    )
    return sent
