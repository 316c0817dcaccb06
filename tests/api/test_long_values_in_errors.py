"""An error names the value it refuses, but a value of many kilobytes (a cursor, a video id, a model)
comes back cut short: the answer stays small whatever the caller sent."""

from __future__ import annotations

import pytest

from tests.api.inprocess import InProcess

LONG = "video_" + "x" * 50_000


@pytest.fixture
def app(tmp_path, monkeypatch) -> InProcess:
    return InProcess(tmp_path, monkeypatch)


@pytest.mark.parametrize(
    ("path", "params", "status", "param"),
    [
        ("/v1/videos", {"after": LONG}, 400, "after"),
        (f"/v1/videos/{LONG}", None, 404, "video_id"),
        (f"/v1/videos/{LONG}/content", None, 404, "video_id"),
        (f"/v1/models/{LONG}", None, 404, "model"),
    ],
)
def test_a_long_value_is_named_cut_short(app, path, params, status, param):
    auth = {"Authorization": f"Bearer {app.tokens['pro']}"}
    r = app.http.get(path, params=params, headers=auth)
    assert r.status_code == status, r.text[:300]
    error = r.json()["error"]
    assert error["param"] == param
    assert "'video_xxxxxxxx" in error["message"] and "..." in error["message"], error["message"][:200]
    assert len(r.content) < 1_000
