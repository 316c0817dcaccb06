"""`make test`'s two processes keep together the tests that share a started server or built weights
(tests/conftest.py), so each process does not start its own."""

from __future__ import annotations

import pytest

from tests.conftest import _group, pytest_xdist_make_scheduler


@pytest.mark.parametrize(
    ("nodeid", "group"),
    [
        ("tests/web/test_browser.py::test_sign_in", "tests/web"),  # the studio server: a session fixture
        ("tests/scale/test_faults.py::test_database_stopped_for_10_seconds", "tests/scale"),
        ("tests/api/test_bad_input.py::test_x[/images/generations]", "tests/api"),
        ("tests/jobs/test_store.py::test_claims[postgres]", "tests/jobs/test_store.py"),  # no session fixtures
        ("tests/test_db.py::test_wal", "tests/test_db.py"),
    ],
)
def test_tests_sharing_session_fixtures_are_one_group_and_others_group_by_file(nodeid, group):
    assert _group(nodeid) == group


def test_loadgroup_runs_are_scheduled_by_those_groups(pytestconfig, monkeypatch):
    pytest.importorskip("xdist")
    monkeypatch.setattr(pytestconfig.option, "dist", "loadgroup", raising=False)
    monkeypatch.setattr(pytestconfig.option, "tx", ["2*popen"], raising=False)  # as `-n 2` sets it
    scheduler = pytest_xdist_make_scheduler(pytestconfig, log=None)
    assert scheduler._split_scope("tests/mcp/test_http.py::test_lists_the_tools") == "tests/mcp"
    monkeypatch.setattr(pytestconfig.option, "dist", "load", raising=False)
    assert pytest_xdist_make_scheduler(pytestconfig, log=None) is None  # other modes: xdist's own
