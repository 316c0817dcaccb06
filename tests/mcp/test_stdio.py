"""MCP over stdio: the `mcp` SDK's client spawns `zoetrope mcp` with an API key in its env, on the
data dir of a live server whose workers run the jobs."""

from __future__ import annotations

import sys

import anyio
import httpx

from tests.mcp.live import INIT, REPO, TOOLS, stdio_answers, stdio_session


def test_stdio_generates_with_progress_and_a_working_link(server):
    progress: list[float] = []

    async def on_progress(value, total, message):
        progress.append(value)

    async def go():
        async with stdio_session(server, server.keys["alice"]) as s:
            tools = {t.name for t in (await s.list_tools()).tools}
            result = await s.call_tool(
                "generate_video",
                {"prompt": "a yellow square moves right", "seconds": 1, "size": "64x112"},
                progress_callback=on_progress,
            )
            status = await s.call_tool("get_video", {"video_id": result.structured_content["id"]})
            return tools, result, status

    tools, result, status = anyio.run(go)
    assert tools == TOOLS
    assert not result.is_error, result.content
    assert progress and progress[-1] == 100
    video = result.structured_content
    assert video["status"] == "completed" and status.structured_content["progress"] == 100
    assert any(c.type == "image" and c.mime_type == "image/webp" for c in result.content)
    r = httpx.get(video["url"], headers={"Authorization": f"Bearer {server.keys['alice']}"}, timeout=30)
    assert r.status_code == 200 and b"ftyp" in r.content[:16]


def test_stdio_applies_the_same_moderation_and_plan_limits(server):
    async def go():
        async with stdio_session(server, server.keys["bob"]) as s:
            blocked = await s.call_tool("generate_video", {"prompt": "a girl cutting her wrists"})
            too_long = await s.call_tool(
                "generate_video", {"prompt": "a blue cube slides left", "seconds": 20}
            )
            return blocked, too_long

    blocked, too_long = anyio.run(go)
    assert blocked.is_error and blocked.structured_content["error"]["category"] == "self-harm"
    assert too_long.is_error and too_long.structured_content["error"]["code"] == "duration_exceeds_plan"


def test_mcp_over_stdio_warns_of_unsigned_webhooks_on_stderr_and_keeps_stdout_for_the_protocol(server):
    import subprocess

    env = {
        **server.env,
        "ZOETROPE_API_KEY": next(iter(server.keys.values())),
        "ZOETROPE_WEBHOOK_URL": "http://127.0.0.1:9/hook",
        "ZOETROPE_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
    }
    env.pop("ZOETROPE_WEBHOOK_SECRET", None)
    done = subprocess.run(
        [sys.executable, "-m", "zoetrope", "mcp", "--workers", "0"],
        input=b"", capture_output=True, env=env, cwd=str(REPO), timeout=120,
    )  # fmt: skip
    assert b"ZOETROPE_WEBHOOK_SECRET" in done.stderr and done.stdout == b"", done


def test_stdio_answers_lines_that_are_not_messages_instead_of_dropping_them(server):
    lines = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": INIT},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        "not json {",
        {"id": 2, "method": "ping"},
        [{"jsonrpc": "2.0", "id": 3, "method": "ping"}],
        {"jsonrpc": "2.0", "id": 4, "method": "ping"},
    ]
    answers, _ = stdio_answers(server, lines, 5)
    assert answers[0]["id"] == 1 and "result" in answers[0]
    assert answers[1]["error"]["code"] == -32700 and answers[1]["id"] is None, answers[1]
    assert answers[2]["error"]["code"] == -32600 and answers[2]["id"] == 2, answers[2]
    assert (
        answers[3]["error"]["code"] == -32600
        and "one JSON-RPC message per line" in answers[3]["error"]["message"]
    )
    assert answers[4] == {"jsonrpc": "2.0", "id": 4, "result": {}}


def test_stdio_refuses_a_file_over_the_upload_limit_as_the_api_does(server):
    import base64
    import io

    import numpy as np
    from PIL import Image

    png = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(png, "PNG")
    data = base64.b64encode(png.getvalue()).decode()

    async def go():
        async with stdio_session(server, server.keys["alice"], ZOETROPE_MAX_UPLOAD_BYTES="4096") as s:
            checked = await s.call_tool("verify_media", {"file_base64": data})
            animated = await s.call_tool("animate_image", {"prompt": "it moves", "image_base64": data})
            return checked, animated

    checked, animated = anyio.run(go)
    for result, param in ((checked, "file_base64"), (animated, "image_base64")):
        assert result.is_error, result.content
        error = result.structured_content["error"]
        assert error["code"] == "request_too_large" and error["param"] == param, error
        assert "4,096 bytes" in error["message"], error


def test_stdio_names_a_lone_surrogate_as_http_does_and_keeps_serving(server):
    call = {"name": "generate_video", "arguments": {"prompt": "a ball \ud800", "wait": False}}
    lines = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": INIT},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": call},  # as JSON, escaped: \ud800
        '{"jsonrpc": "2.0", "id": "\\udc00", "method": "ping"}',
        {"jsonrpc": "2.0", "id": 6, "method": "ping"},
    ]
    answers, stderr = stdio_answers(server, lines, 4)
    assert "Traceback" not in stderr, stderr
    lone = answers[1]
    assert lone["id"] == 5 and lone["error"]["code"] == -32602, answers
    message = lone["error"]["message"]
    assert "params.arguments.prompt" in message and "\\ud800" in message and "surrogate pair" in message, message
    assert answers[2]["id"] is None and answers[2]["error"]["code"] == -32600, answers
    assert "\\udc00" in answers[2]["error"]["message"], answers
    assert answers[3] == {"jsonrpc": "2.0", "id": 6, "result": {}}


def test_stdio_answers_a_request_without_a_usable_id_instead_of_leaving_it_unanswered(server):
    lines = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": INIT},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": True, "method": "ping"},
        {"jsonrpc": "2.0", "id": 1.5, "method": "tools/list"},
        {"jsonrpc": "2.0", "method": "tools/list"},
        {"jsonrpc": "2.0", "id": 4, "method": "ping"},
    ]
    answers, _ = stdio_answers(server, lines, 5)
    for answer, method in zip(answers[1:4], ("ping", "tools/list", "tools/list"), strict=True):
        assert answer["id"] is None and answer["error"]["code"] == -32600, answers
        assert answer["error"]["message"].startswith(f'{method} is a request: give it an "id"'), answer
    assert answers[4] == {"jsonrpc": "2.0", "id": 4, "result": {}}
