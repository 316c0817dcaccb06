"""A live `zoetrope serve` (tiny random weights) with studio users, and a Chromium page on it.

Browser tests skip, with the reason, where Debian's Chromium is not installed."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

HERE = Path(__file__).parent
ARTIFACTS = HERE / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
PASSWORD = "correct horse battery"
# The address browsers reach the studio at (ZOETROPE_PUBLIC_URL), as behind a reverse proxy.
PUBLIC_URL = "https://zoetrope.example.org"
# Loading the text encoder can take minutes on a busy 2-core machine.
WARM_UP_TIMEOUT = 300
# name, plan, admin; dana and erin each belong to one test that reads its balance before and after
PEOPLE = (
    ("alice", "pro", False),
    ("bob", "plus", False),
    ("root", "pro", True),
    ("dana", "pro", False),
    ("erin", "pro", False),
    ("fay", "pro", False),
    ("gus", "bing-free", False),
    ("hal", "pro", False),  # his balance: read before and after a cancel
    ("ivy", "pro", False),
    ("jan", "plus", False),  # left with a few credits by one test
)


REPO = HERE.parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited {proc.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"server did not start:\n{log.read_text()}")


def _warm_up(url: str, key: str) -> None:
    """Moderate one prompt, so the text encoder is loaded before a page's first submit waits on it."""
    r = httpx.post(
        url + "/v1/moderations",
        json={"input": "a red ball"},
        headers={"authorization": f"Bearer {key}"},
        timeout=WARM_UP_TIMEOUT,
    )
    r.raise_for_status()


@dataclass
class Studio:
    url: str
    keys: dict[str, str]
    data_dir: Path | None = None
    public_url: str = PUBLIC_URL

    def email(self, name: str) -> str:
        return f"{name}@example.com"

    def api(self, name: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"authorization": f"Bearer {self.keys[name]}"}, timeout=60
        )


def _people(data_dir: Path) -> dict[str, str]:
    from zoetrope.access.accounts import open_account
    from zoetrope.access.keys import create_key
    from zoetrope.db import make_engine, transaction
    from zoetrope.jobs.migrate import upgrade
    from zoetrope.web.models import StudioUser
    from zoetrope.web.session import hash_password

    engine = make_engine(f"sqlite:///{data_dir / 'zoetrope.db'}")
    upgrade(engine)
    keys = {}
    with transaction(engine, immediate=True) as s:
        for name, plan, admin in PEOPLE:
            # With this month's credits from the start, as a studio sign-up has them.
            account = open_account(s, name, plan=plan, is_admin=admin)
            keys[name] = create_key(s, account.id, name="setup")[1]
            s.add(
                StudioUser(
                    account_id=account.id, email=f"{name}@example.com", password_hash=hash_password(PASSWORD)
                )
            )
    engine.dispose()
    return keys


@pytest.fixture(scope="session")
def studio(tmp_path_factory) -> Studio:
    from zoetrope.backends.bundled import write_tiny_random_weights

    weights = write_tiny_random_weights(tmp_path_factory.mktemp("weights"))
    data_dir = tmp_path_factory.mktemp("studio")
    keys = _people(data_dir)
    port = _free_port()
    env = {
        **os.environ,
        "ZOETROPE_DATA_DIR": str(data_dir),
        "ZOETROPE_WEIGHTS_DIR": str(weights),
        "ZOETROPE_WORKERS": "2",
        "ZOETROPE_PUBLIC_URL": PUBLIC_URL,
        "PYTHONPATH": str(REPO),
        "PYTHONUNBUFFERED": "1",
    }
    log = data_dir / "serve.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "zoetrope", "serve", "--port", str(port)],
        env=env,
        cwd=REPO,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log)
        yield Studio(url, keys, data_dir)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def warm_studio(studio: Studio) -> Studio:
    """The studio once its text encoder is loaded: tests that submit wait here, not in a click."""
    _warm_up(studio.url, studio.keys["alice"])
    return studio


class _Chromium:
    """One Chromium for the studio's tests, started by the first that needs it and stopped after the
    last of them that this process runs (`pytest_runtest_teardown`): while Playwright's sync API is
    up, its event loop counts as running in this thread, and asyncio.run() refuses to start in any
    test that comes after."""

    def __init__(self) -> None:
        self._playwright = self._browser = None

    def get(self):
        if self._browser is None:
            from playwright.sync_api import sync_playwright

            self._playwright = sync_playwright().start()
            self._browser = self._playwright.chromium.launch(
                executable_path=shutil.which("chromium") or CHROMIUM, args=CHROMIUM_ARGS
            )
        return self._browser

    def stop(self) -> None:
        if self._playwright is not None:
            self._browser.close()
            self._playwright.stop()
            self._playwright = self._browser = None


_chromium = _Chromium()


@pytest.fixture
def browser():
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        pytest.skip("Chromium is not installed (make install runs apt-get install chromium where apt exists)")
    return _chromium.get()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):
    try:
        return (yield)  # the test's fixtures first: its page closes while the browser is up
    finally:
        if nextitem is None or HERE not in Path(nextitem.path).parents:
            _chromium.stop()


class Page:
    """A browser page that records console errors and writes screenshots to the artifacts folder."""

    def __init__(self, page, studio: Studio):
        self.page, self.studio, self.errors = page, studio, []
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def goto(self, path: str):
        self.page.goto(self.studio.url + path)
        return self.page

    def sign_in(self, name: str) -> None:
        p = self.goto("/signin")
        p.fill("input[name=email]", self.studio.email(name))
        p.fill("input[name=password]", PASSWORD)
        p.click("button[type=submit]")
        p.wait_for_url("**/create")

    def shot(self, name: str, full_page: bool = True) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)


@pytest.fixture()
def page(browser, studio):
    context = browser.new_context(viewport={"width": 1280, "height": 860}, accept_downloads=True)
    p = Page(context.new_page(), studio)
    p.page.set_default_timeout(60_000)
    yield p
    context.close()
