"""The API's database connections ended under it mid-load (a failover, an administrator's
pg_terminate_backend): requests that met a dropped connection answer 503 in OpenAI's error shape
with Retry-After, which clients retry; none answers 500, and the API serves on afterwards."""

from __future__ import annotations

import collections
import secrets
import threading
import time

import httpx
import pytest
from sqlalchemy import text

from tests.api.conftest import free_port
from tests.jobs.conftest import PG_URL, reachable_postgres
from zoetrope.db import make_engine, transaction
from zoetrope.jobs import dispatch
from zoetrope.jobs.migrate import upgrade
from zoetrope.storage import BlobStore

pytestmark = pytest.mark.postgres


@pytest.fixture()
def api(tmp_path):
    """The API over PostgreSQL (a schema of its own), its connections named to be found; its URL,
    a key, the admin engine and the connections' name."""
    import uvicorn

    from zoetrope.access.accounts import open_account
    from zoetrope.access.keys import create_key
    from zoetrope.api import Services, create_app
    from zoetrope.backends.registry import get_registry

    admin = reachable_postgres()
    schema, name = f"zt_test_{secrets.token_hex(6)}", f"zt-api-{secrets.token_hex(6)}"
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = make_engine(f"{PG_URL}?options=-csearch_path%3D{schema}&application_name={name}")
    upgrade(engine)
    with transaction(engine) as s:
        key = create_key(s, open_account(s, "alice", plan="pro").id)[1]
    blobs = BlobStore(str(tmp_path / "blobs"))
    app = create_app(Services(engine, get_registry(), blobs, dispatch.DispatchPolicy()))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", key, admin, name
    server.should_exit = True
    thread.join(timeout=10)
    engine.dispose()
    with admin.begin() as c:
        c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def test_requests_whose_connection_was_ended_answer_503_not_500(api):
    url, key, admin, name = api
    codes: collections.Counter[int] = collections.Counter()
    unavailable: list[httpx.Response] = []
    failed: list[str] = []
    stop = threading.Event()

    def load(n: int) -> None:
        with httpx.Client(base_url=url, headers={"authorization": f"Bearer {key}"}, timeout=30) as c:
            i = 0
            while not stop.is_set():
                i += 1
                if i % 3:
                    r = c.get("/v1/videos", params={"limit": 5})
                else:
                    body = {"prompt": f"a lighthouse {n} {i}", "model": "zoetrope-mini"}
                    r = c.post("/v1/videos", json=body)
                codes[r.status_code] += 1
                if r.status_code == 503:
                    unavailable.append(r)
                elif r.status_code >= 500:
                    failed.append(r.text)

    threads = [threading.Thread(target=load, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    ended = 0
    try:
        # Until enough connections were ended and some requests met that (slower on a busy machine).
        end = time.monotonic() + 40
        while time.monotonic() < end and (ended < 30 or len(unavailable) < 5):
            time.sleep(0.1)
            with admin.connect() as c:
                ended += len(c.execute(
                    text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :n"),
                    {"n": name},
                ).all())  # fmt: skip
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    assert ended >= 30, ended
    assert not failed, (dict(codes), failed[:3])
    assert unavailable, dict(codes)  # some requests did meet an ended connection
    for r in unavailable[:20]:
        error = r.json()["error"]
        assert (error["type"], error["code"]) == ("server_error", "service_unavailable"), error
        assert int(r.headers["retry-after"]) >= 1
    # Once the connections are left alone the API serves at once again.
    after = httpx.get(f"{url}/v1/videos", headers={"authorization": f"Bearer {key}"}, timeout=10)
    assert after.status_code == 200, after.text
