"""Hostile input against the live server: a bounded schemathesis run (no 5xx, responses match the
schema), bad uploads (4xx, nothing left in storage or the database), bodies over the cap refused
before they are read, other tenants' ids, path traversal."""

from __future__ import annotations

import io
import os
import socket
import struct
import zlib
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

pytestmark = pytest.mark.slow
# Generated requests per operation: a quick pass in `make test`, a deeper one in `make test-all`.
FUZZ_EXAMPLES = int(os.environ.get("ZOETROPE_FUZZ_EXAMPLES", "6"))


def test_fuzzed_requests_get_no_5xx_and_match_the_schema(server):
    """Every operation of the live server's /openapi.json, with generated requests and a valid key.

    Driven with hypothesis directly: schemathesis' pytest fixture integration does not run under
    pytest 9."""
    schema = schemathesis.openapi.from_url(server.url + "/openapi.json")
    cases: dict[str, int] = {}
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=FUZZ_EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def call(case):
            case.call_and_validate(
                headers={"authorization": f"Bearer {server.keys['bob']}"},
                checks=[not_a_server_error, response_schema_conformance],
                timeout=30,
            )
            cases[case.operation.label] = cases.get(case.operation.label, 0) + 1

        call()
    print(
        f"schemathesis: {len(cases)} operations, {sum(cases.values())} requests, no 5xx, all match the schema"
    )
    assert len(cases) >= 10, cases


def _png(width: int, height: int, body: bytes = b"") -> bytes:
    """A PNG whose header claims width x height (its pixel data is `body`, usually too short)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(body))
        + chunk(b"IEND", b"")
    )


def _residue(server) -> tuple[int, list[Path]]:
    from sqlalchemy import func, select

    from zoetrope.db import make_engine, transaction
    from zoetrope.jobs.models import Job

    engine = make_engine(f"sqlite:///{server.data_dir / 'zoetrope.db'}")
    with transaction(engine) as s:
        jobs = s.scalar(select(func.count()).select_from(Job))
    engine.dispose()
    return jobs, sorted((server.data_dir / "blobs").glob("inputs/**/*"))


BAD_UPLOADS = {
    "corrupt": ("ref.png", b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 50, "image/png"),
    "truncated": ("ref.png", _png(64, 64, bytes(64 * 64 * 3))[:60], "image/png"),
    "huge_dimensions": ("ref.png", _png(100_000, 100_000), "image/png"),
    "wrong_content_type": ("ref.png", b"just some text, not an image\n" * 10, "text/plain"),
    "traversal_name": ("../../../../etc/passwd", b"root:x:0:0\n", "image/png"),
}


@pytest.mark.parametrize("kind", BAD_UPLOADS)
def test_bad_upload_is_4xx_and_leaves_nothing_behind(server, kind):
    before = _residue(server)
    name, data, ctype = BAD_UPLOADS[kind]
    r = httpx.post(
        f"{server.base_url}/videos",
        headers={"authorization": f"Bearer {server.keys['alice']}"},
        data={"prompt": "a red ball", "model": "sora-2", "size": "64x64", "seconds": "4"},
        files={"input_reference": (name, io.BytesIO(data), ctype)},
        timeout=60,
    )
    assert 400 <= r.status_code < 500 and r.json()["error"]["message"], r.text
    assert _residue(server) == before


def test_body_over_the_cap_is_refused_before_it_is_read(server):
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        head = (
            f"POST /v1/videos HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {server.keys['alice']}\r\n"
            "Content-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n{"
        )
        sock.sendall(head.encode())
        reply = sock.recv(4096).decode(errors="replace")
    assert reply.startswith("HTTP/1.1 413"), reply[:200]


def test_a_chunked_multipart_body_over_the_cap_is_refused_whatever_its_parts(server):
    """With no Content-Length up front, the parts of a form could add up to many times the cap (each
    part alone under it): the body is counted as it arrives, and the request is a 413 that queues nothing."""
    before = _residue(server)
    host, port = server.url.removeprefix("http://").split(":")
    boundary = "zb"
    part = 40 * 1024 * 1024  # two parts of 40 MiB: each under the 64 MiB cap, together over it
    head = (
        f"POST /v1/videos HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {server.keys['alice']}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\nTransfer-Encoding: chunked\r\n\r\n"
    )

    def chunk(data: bytes) -> bytes:
        return f"{len(data):x}\r\n".encode() + data + b"\r\n"

    fields = f'--{boundary}\r\nContent-Disposition: form-data; name="prompt"\r\n\r\na red ball\r\n'.encode()
    with socket.create_connection((host, int(port)), timeout=60) as sock:
        sock.sendall(head.encode() + chunk(fields))
        try:
            for i in range(2):
                sock.sendall(chunk(f'--{boundary}\r\nContent-Disposition: form-data; name="junk{i}"; '
                                   f'filename="j{i}.bin"\r\n\r\n'.encode()))
                for _ in range(part // (1024 * 1024)):
                    sock.sendall(chunk(b"\0" * (1024 * 1024)))
                sock.sendall(chunk(b"\r\n"))
            sock.sendall(chunk(f"--{boundary}--\r\n".encode()) + b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before the rest was sent
        reply = sock.recv(4096).decode(errors="replace")
    assert reply.startswith("HTTP/1.1 413"), reply[:300]
    assert _residue(server) == before


@pytest.mark.parametrize(
    "method,path",
    [
        ("GET", "/videos/{id}"),
        ("GET", "/videos/{id}/content"),
        ("DELETE", "/videos/{id}"),
        ("POST", "/videos/{id}/remix"),
    ],
)
def test_another_tenants_id_is_404_on_every_route(client, server, method, path):
    video = client.videos.create(prompt="a red ball", model="sora-2", size="64x64", seconds="4")
    r = httpx.request(
        method,
        server.base_url + path.format(id=video.id),
        headers={"authorization": f"Bearer {server.keys['bob']}"},
        json={"prompt": "a calm lake at dawn"} if method == "POST" else None,
        timeout=30,
    )
    assert r.status_code == 404, r.text
    assert client.videos.retrieve(video.id).id == video.id  # untouched for its owner


@pytest.mark.parametrize(
    "path",
    ["/videos/..%2F..%2Fzoetrope.db", "/videos/video_x%2F..%2F..%2Fetc/content", "/videos/%2e%2e/content"],
)
def test_path_traversal_in_ids_is_rejected(server, path):
    r = httpx.get(
        server.base_url + path, headers={"authorization": f"Bearer {server.keys['alice']}"}, timeout=30
    )
    assert r.status_code in (400, 404) and b"sqlite" not in r.content.lower()
    ref = httpx.post(
        f"{server.base_url}/videos/extensions",
        headers={"authorization": f"Bearer {server.keys['alice']}"},
        json={"prompt": "p", "video": {"id": "../../zoetrope.db"}},
        timeout=30,
    )
    assert ref.status_code in (400, 404), ref.text


def test_the_spec_validates_and_says_how_to_authenticate(server):
    import httpx
    from openapi_spec_validator import validate

    spec = httpx.get(server.url + "/openapi.json", timeout=30).json()
    validate(spec)
    assert spec["components"]["securitySchemes"]["apiKey"] == {
        "type": "http", "scheme": "bearer", "description": "An API key, zk-..."
    }
    operations = [op for path, ops in spec["paths"].items() if path.startswith("/v1/") for op in ops.values()]
    assert operations and all(op["security"] == [{"apiKey": []}] for op in operations)
    assert all("422" not in op["responses"] and "401" in op["responses"] for op in operations)
    create = spec["paths"]["/v1/videos"]["post"]["responses"]["400"]
    assert create["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    assert "head" not in spec["paths"]["/v1/videos/{video_id}/content"]  # HEAD answers, undocumented
    images = spec["paths"]["/v1/images/generations"]["post"]["requestBody"]["content"]["application/json"]
    assert images["schema"]["required"] == ["prompt"]
    assert images["schema"]["properties"]["n"]["maximum"] == 4
