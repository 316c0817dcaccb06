"""A path written with a trailing slash is served as the path without it everywhere, as on /v1: the
studio's pages and forms, /healthz, /metrics and the docs answer at once, never with Starlette's 307
to an absolute URL of the scheme the server sees (plain http behind a TLS proxy)."""

from __future__ import annotations

import pytest

from tests.api.inprocess import InProcess


@pytest.fixture
def app(tmp_path, monkeypatch) -> InProcess:
    from zoetrope.web import mount

    app = InProcess(tmp_path, monkeypatch)
    mount(app.app)
    return app


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/signin"),
        ("GET", "/explore"),
        ("POST", "/signin"),  # a form posted again after a redirect could leave https
        ("GET", "/healthz"),
        ("GET", "/metrics"),
        ("GET", "/openapi.json"),
        ("GET", "/v1/models"),
    ],
)
def test_a_trailing_slash_is_answered_as_the_path_without_it(app, method, path):
    auth = {"Authorization": f"Bearer {app.tokens['pro']}"} if path.startswith("/v1") else {}
    plain = app.http.request(method, path, headers=auth, follow_redirects=False)
    slashed = app.http.request(method, path + "//", headers=auth, follow_redirects=False)
    assert "location" not in slashed.headers or slashed.headers["location"] == plain.headers.get("location")
    assert slashed.status_code == plain.status_code != 307, (plain.status_code, slashed.headers)
    assert slashed.headers["content-type"] == plain.headers["content-type"]


def test_the_root_and_unknown_paths_keep_their_answers(app):
    assert app.http.get("/", follow_redirects=False).headers["location"] == "/explore"
    missing = app.http.get("/no-such-page/", follow_redirects=False)
    assert missing.status_code == 404 and "location" not in missing.headers
