"""MCP over stdio: the `mcp` SDK's client spawns `zoetrope mcp` with an API key in its env, on the
data dir of a live server whose workers run the jobs."""

from __future__ import annotations

import sys

import anyio
import httpx
from conftest import REPO, stdio_session
from test_http import TOOLS


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
