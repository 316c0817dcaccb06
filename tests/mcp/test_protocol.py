"""JSON-RPC over streamable HTTP at `/mcp`, as a client without the SDK sends it: the error codes the
MCP and JSON-RPC specifications name, and answers that say what to send instead."""

from __future__ import annotations

import json
import sqlite3
import threading
import time

import httpx

ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def post(server, key: str, body, **headers) -> httpx.Response:
    return httpx.post(
        server.url + "/mcp",
        content=body if isinstance(body, bytes) else json.dumps(body).encode(),
        headers={**ACCEPT, "Authorization": f"Bearer {key}", **headers},
        timeout=60,
    )


def rpc(server, method: str, params: dict | None = None, key: str | None = None) -> dict:
    """The JSON-RPC response to one request (the server answers it as one SSE event)."""
    body = {"jsonrpc": "2.0", "id": 7, "method": method, **({"params": params} if params is not None else {})}
    r = post(server, key or server.keys["alice"], body)
    assert r.status_code == 200, r.text
    data = [line[len("data: ") :] for line in r.text.splitlines() if line.startswith("data: ")]
    return json.loads(data[-1])


def test_an_unknown_tool_is_an_invalid_params_error_listing_the_tools(server):
    answer = rpc(server, "tools/call", {"name": "make_video", "arguments": {"prompt": "a ball"}})
    assert answer["error"]["code"] == -32602, answer
    assert "make_video" in answer["error"]["message"] and "generate_video" in answer["error"]["message"]


def test_an_undeclared_argument_is_refused_by_name_not_dropped(server):
    answer = rpc(
        server, "tools/call", {"name": "generate_video", "arguments": {"prompt": "a red ball", "duration": 8}}
    )
    result = answer["result"]
    assert result["isError"], result  # not a 4 s video queued and charged in its place
    error = result["structuredContent"]["error"]
    assert error["param"] == "duration" and "seconds" in error["message"], error
    tools = rpc(server, "tools/list")["result"]["tools"]
    assert all(t["inputSchema"]["additionalProperties"] is False for t in tools)


def test_true_where_a_number_belongs_is_refused_not_read_as_one(server):
    for arguments, field in (
        ({"prompt": "a red ball", "seconds": True}, "seconds"),
        ({"prompt": "a red ball", "seed": False}, "seed"),
    ):
        result = rpc(server, "tools/call", {"name": "generate_video", "arguments": arguments})["result"]
        assert result["isError"] and result["structuredContent"]["error"]["param"] == field, result
        assert "must be a number" in result["content"][0]["text"]


def test_tool_descriptions_carry_no_source_indentation(server):
    tools = rpc(server, "tools/list")["result"]["tools"]
    generate = next(t for t in tools if t["name"] == "generate_video")
    assert "moderation" in generate["description"]
    assert all("\n " not in t["description"] for t in tools), [t["description"] for t in tools]


def test_prompt_errors_are_invalid_params_naming_the_argument(server):
    unknown = rpc(server, "prompts/get", {"name": "story"})["error"]
    missing = rpc(server, "prompts/get", {"name": "storyboard", "arguments": {"idea": " "}})["error"]
    extra = rpc(server, "prompts/get", {"name": "storyboard", "arguments": {"idea": "a ball", "length": "8"}})
    assert unknown["code"] == -32602 and "storyboard" in unknown["message"], unknown
    assert missing["code"] == -32602 and "'idea'" in missing["message"], missing
    assert extra["error"]["code"] == -32602 and "'length'" in extra["error"]["message"], extra


def test_the_default_model_is_stored_by_its_name_as_the_api_stores_it(server):
    key = server.keys["alice"]
    body = {"prompt": "a red ball rolls", "size": "64x64", "seconds": "1"}
    api = httpx.post(
        server.url + "/v1/videos", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=60
    )
    assert api.status_code == 200, api.text
    arguments = {"prompt": "a red ball rolls", "size": "64x64", "seconds": 1, "wait": False}
    tool = rpc(server, "tools/call", {"name": "generate_video", "arguments": arguments})["result"]
    assert not tool["isError"], tool
    assert tool["structuredContent"]["model"] == api.json()["model"] != "sora-2"


def test_an_image_that_is_not_media_names_the_tools_argument(server):
    arguments = {"prompt": "it moves", "image_base64": "aGVsbG8=", "wait": False}
    result = rpc(server, "tools/call", {"name": "animate_image", "arguments": arguments})["result"]
    assert result["isError"] and result["structuredContent"]["error"]["param"] == "image_base64", result


def test_a_batch_or_a_non_jsonrpc_body_is_an_invalid_request(server):
    key = server.keys["alice"]
    batch = post(server, key, [{"jsonrpc": "2.0", "id": 1, "method": "ping"}])
    assert batch.status_code == 400 and batch.json()["error"]["code"] == -32600, batch.text
    assert "one JSON-RPC message per POST" in batch.json()["error"]["message"]
    stray = post(server, key, {"id": 3, "method": "ping"})
    assert stray.status_code == 400 and stray.json()["error"]["code"] == -32600, stray.text
    assert stray.json()["id"] == 3 and "pydantic" not in stray.text
    broken = post(server, key, b'{"jsonrpc":')
    assert broken.status_code == 400 and broken.json()["error"]["code"] == -32700


def test_another_content_type_is_415_and_get_is_405(server):
    key = server.keys["alice"]
    text = post(server, key, {"jsonrpc": "2.0", "id": 1, "method": "ping"}, **{"Content-Type": "text/plain"})
    assert text.status_code == 415 and "application/json" in text.json()["error"]["message"], text.text
    # Stateless: no stream to open, so a GET is answered at once rather than held open forever.
    get = httpx.get(
        server.url + "/mcp",
        headers={"Authorization": f"Bearer {server.keys['alice']}", "Accept": "text/event-stream"},
        timeout=10,
    )
    assert get.status_code == 405 and get.headers["allow"] == "POST", get.text


def test_checking_a_new_key_does_not_stall_other_requests_while_the_database_is_locked(server):
    from zoetrope.access.accounts import create_account
    from zoetrope.access.keys import create_key
    from zoetrope.db import make_engine, transaction

    engine = make_engine(f"sqlite:///{server.data_dir / 'zoetrope.db'}")
    with transaction(engine, immediate=True) as s:
        key = create_key(s, create_account(s, f"carol-{time.monotonic_ns()}", plan="plus").id)[1]
    engine.dispose()
    lock = sqlite3.connect(server.data_dir / "zoetrope.db", timeout=30)
    lock.execute("BEGIN IMMEDIATE")  # another process writing: the key's first use waits for it
    answers: list[httpx.Response] = []
    caller = threading.Thread(
        target=lambda: answers.append(post(server, key, {"jsonrpc": "2.0", "id": 1, "method": "ping"}))
    )
    caller.start()
    try:
        time.sleep(0.5)
        started = time.monotonic()
        health = httpx.get(server.url + "/healthz", timeout=10)
        waited = time.monotonic() - started
    finally:
        lock.rollback()
        lock.close()
        caller.join(60)
    assert health.status_code == 200 and waited < 2, waited
    assert answers and answers[0].status_code == 200, answers


def test_a_huge_string_for_an_id_or_model_is_refused_without_echoing_it(server):
    huge = "a" * 50_000
    for name, arguments, field in (
        ("list_videos", {"after": huge}, "after"),
        ("verify_media", {"video_id": huge}, "video_id"),
        ("animate_image", {"prompt": "it moves", "image_id": huge}, "image_id"),
        ("generate_video", {"prompt": "a ball", "model": huge}, "model"),
    ):
        answer = rpc(server, "tools/call", {"name": name, "arguments": arguments})
        assert (
            answer["result"]["isError"] and answer["result"]["structuredContent"]["error"]["param"] == field
        )
        assert len(json.dumps(answer)) < 2_000, (name, len(json.dumps(answer)))


def test_an_unsupported_protocol_version_header_is_named_in_a_400(server):
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    old = post(server, server.keys["alice"], ping, **{"MCP-Protocol-Version": "1999-01-01"})
    assert old.status_code == 400, old.text
    message = old.json()["error"]["message"]
    assert "1999-01-01" in message and "2025-06-18" in message and "_meta" not in message, message
    assert (
        post(server, server.keys["alice"], ping, **{"MCP-Protocol-Version": "2025-06-18"}).status_code == 200
    )


def test_a_request_quota_refuses_as_the_api_does_and_says_when_to_call_again(server):
    from zoetrope.access.accounts import create_account
    from zoetrope.access.keys import create_key
    from zoetrope.db import make_engine, transaction

    engine = make_engine(f"sqlite:///{server.data_dir / 'zoetrope.db'}")
    with transaction(engine, immediate=True) as s:
        account = create_account(s, f"erin-{time.monotonic_ns()}", plan="pro")
        account.quota = {"requests_per_minute": 1}
        key = create_key(s, account.id)[1]
    engine.dispose()
    arguments = {"prompt": "a green triangle", "size": "64x64", "wait": False}
    first = rpc(server, "tools/call", {"name": "generate_image", "arguments": arguments}, key=key)["result"]
    second = rpc(server, "tools/call", {"name": "generate_image", "arguments": arguments}, key=key)["result"]
    api = httpx.post(server.url + "/v1/videos", json={"prompt": "a green triangle"}, headers={"Authorization": f"Bearer {key}"}, timeout=30)  # fmt: skip
    assert not first["isError"], first
    error = second["structuredContent"]["error"]
    assert second["isError"] and error["code"] == "rate_limit_exceeded" == api.json()["error"]["code"], second
    assert 0 < error["retry_after"] <= 60 and api.status_code == 429 and api.headers["retry-after"]
    assert f"call again in {error['retry_after']} s" in second["content"][0]["text"]


def test_an_image_with_no_size_gets_the_images_apis_default_size(server):
    key = server.keys["alice"]  # pro: the default 1024x1024 is within its plan
    api = httpx.post(
        server.url + "/v1/images/generations",
        json={"prompt": "a green triangle"},
        headers={"Authorization": f"Bearer {key}"},
        timeout=120,
    )
    assert api.status_code == 200, api.text
    arguments = {"prompt": "a green triangle", "wait": False}
    tool = rpc(server, "tools/call", {"name": "generate_image", "arguments": arguments})["result"]
    assert not tool["isError"], tool
    assert tool["structuredContent"]["size"] == api.json()["size"], (tool["structuredContent"], api.json())


def test_a_tool_takes_the_queue_lane_its_plan_has_and_refuses_one_it_lacks(server):
    lane = next(t for t in rpc(server, "tools/list")["result"]["tools"] if t["name"] == "generate_video")
    assert "pro fast/relaxed" in lane["inputSchema"]["properties"]["lane"]["description"]
    made = rpc(
        server,
        "tools/call",
        {"name": "generate_video", "arguments": {"prompt": "a red ball rolls", "lane": "relaxed", "wait": False}},
    )["result"]
    assert not made["isError"], made
    with sqlite3.connect(server.data_dir / "zoetrope.db", timeout=30) as db:
        stored = db.execute("SELECT lane FROM jobs WHERE id = ?", (made["structuredContent"]["id"],)).fetchone()
    assert stored == ("relaxed",)  # pro's own default is fast: the argument was kept
    refused = rpc(
        server,
        "tools/call",
        {"name": "generate_image", "arguments": {"prompt": "a red ball", "lane": "fast"}},
        key=server.keys["bob"],
    )["result"]
    assert refused["isError"], refused
    error = refused["structuredContent"]["error"]
    assert error["code"] == "lane_not_in_plan" and error["param"] == "lane", error


def test_a_lone_surrogate_escape_is_named_and_a_surrogate_pair_still_works(server):
    key = server.keys["alice"]
    call = b'{"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "generate_video", "arguments": {"prompt": "a ball \\ud800", "wait": false}}}'
    lone = post(server, key, call)
    assert lone.status_code == 400, lone.text
    answer = lone.json()
    assert answer["id"] == 5 and answer["error"]["code"] == -32602, answer
    message = answer["error"]["message"]
    assert "params.arguments.prompt" in message and "\\ud800" in message and "surrogate" in message, message
    assert "hex escape" not in message
    outside = post(server, key, b'{"jsonrpc": "2.0", "id": "\\udc00", "method": "ping"}')
    assert outside.status_code == 400 and outside.json()["error"]["code"] == -32600, outside.text
    assert "\\udc00" in outside.json()["error"]["message"] and outside.json()["id"] is None, outside.text
    emoji = call.replace(b"\\ud800", b"\\ud83d\\ude00")
    made = post(server, key, emoji)
    assert made.status_code == 200, made.text
    data = [line[len("data: ") :] for line in made.text.splitlines() if line.startswith("data: ")]
    result = json.loads(data[-1])["result"]
    assert not result["isError"], result
    assert result["structuredContent"]["prompt"] == "a ball \U0001f600", result
