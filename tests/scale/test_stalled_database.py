"""A database link that stalls (the TCP connection open, nothing coming back) holds up only the
requests that need the database, and those answer 503 with Retry-After within seconds."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import httpx
import pytest

from tests.api.conftest import free_port
from zoetrope.db import DATABASE_DEADLINE_SECONDS, make_engine
from zoetrope.jobs import dispatch
from zoetrope.storage import BlobStore


@pytest.fixture()
def stalled_postgres():
    """A port that accepts connections and never answers: PostgreSQL behind a link that stalls."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                held.append(listener.accept()[0])

    threading.Thread(target=accept, daemon=True).start()
    yield f"postgresql+psycopg://postgres@127.0.0.1:{listener.getsockname()[1]}/zoetrope"
    listener.close()
    for conn in held:
        conn.close()


@pytest.fixture()
def live_api(stalled_postgres, tmp_path):
    import uvicorn

    from zoetrope.access.keys import Principal
    from zoetrope.api import Services, create_app
    from zoetrope.api.deps import _digest
    from zoetrope.backends.registry import get_registry
    from zoetrope.config import get_config

    engine = make_engine(stalled_postgres)
    app = create_app(Services(engine, get_registry(), BlobStore(str(tmp_path)), dispatch.DispatchPolicy()))
    # A key that authenticated moments before the stall (keys are cached for a few seconds).
    who = Principal(account_id="acct_a", key_id="key_a", plan=get_config().plan("pro"))
    app.state.principals._entries[_digest("zk-cached")] = (time.monotonic() + 600, who)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield url
    server.should_exit = True
    thread.join(timeout=10)


def test_a_stalled_database_holds_up_only_the_requests_that_need_it(live_api):
    polls: list[httpx.Response] = []
    headers = {"authorization": "Bearer zk-cached"}

    def poll() -> None:
        polls.append(httpx.get(f"{live_api}/v1/videos/video_x", headers=headers, timeout=60))

    started = time.monotonic()
    pollers = [threading.Thread(target=poll) for _ in range(3)]
    for t in pollers:
        t.start()
    time.sleep(0.5)  # the polls are waiting for the database
    t0 = time.monotonic()
    assert httpx.get(f"{live_api}/openapi.json", timeout=60).status_code == 200
    assert httpx.get(f"{live_api}/v1/models", headers=headers, timeout=60).status_code == 200
    assert time.monotonic() - t0 < DATABASE_DEADLINE_SECONDS / 2, "routes that need no database waited for it"
    for t in pollers:
        t.join(timeout=60)
    assert time.monotonic() - started < DATABASE_DEADLINE_SECONDS + 10
    assert [r.status_code for r in polls] == [503, 503, 503]
    assert all(int(r.headers["retry-after"]) >= 1 for r in polls)
    assert polls[0].json()["error"]["code"] == "service_unavailable"
