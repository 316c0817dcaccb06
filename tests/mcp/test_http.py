"""MCP over streamable HTTP at `/mcp` on a live `zoetrope serve`, driven by the `mcp` SDK's client."""

from __future__ import annotations

import anyio
import httpx

from tests.mcp.live import TOOLS, http_session


def test_lists_the_tools_with_schemas_that_explain_limits(server):
    async def go():
        async with http_session(server, server.keys["alice"]) as s:
            return (await s.list_tools()).tools

    tools = {t.name: t for t in anyio.run(go)}
    assert set(tools) == TOOLS
    seconds = tools["generate_video"].input_schema["properties"]["seconds"]
    assert "plus 10 s" in seconds["description"] and "pro 20 s" in seconds["description"]
    assert tools["generate_video"].input_schema["required"] == ["prompt"]
    end = tools["remix_video"].input_schema["properties"]["strength_end"]
    number = next(o for o in end["anyOf"] if o.get("type") == "number")  # or null: the default
    assert number["maximum"] == 1.0 and "motion" in end["description"]
    assert all(t.description for t in tools.values())


def test_generate_video_reports_progress_and_links_the_finished_file(server):
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(value, total, message):
        progress.append((value, total, message))

    async def go():
        async with http_session(server, server.keys["alice"]) as s:
            return await s.call_tool(
                "generate_video",
                {"prompt": "a red ball bounces on grass", "seconds": 1, "size": "112x64"},
                progress_callback=on_progress,
            )

    result = anyio.run(go)
    assert not result.is_error, result.content
    video = result.structured_content
    assert video["status"] == "completed" and video["id"].startswith("video_")
    assert progress and progress[-1][0] == 100 and all(t == 100 for _, t, _ in progress)
    kinds = [c.type for c in result.content]
    assert "image" in kinds and "resource_link" in kinds
    thumb = next(c for c in result.content if c.type == "image")
    assert thumb.mime_type == "image/webp" and thumb.data
    link = next(c for c in result.content if c.type == "resource_link")
    assert link.uri == video["url"] == f"{server.url}/v1/videos/{video['id']}/content"
    r = httpx.get(link.uri, headers={"Authorization": f"Bearer {server.keys['alice']}"}, timeout=30)
    assert r.status_code == 200 and r.headers["content-type"] == "video/mp4" and b"ftyp" in r.content[:16]


def test_blocked_prompt_is_a_tool_error_naming_the_category(server):
    async def go():
        async with http_session(server, server.keys["alice"]) as s:
            return await s.call_tool("generate_video", {"prompt": "an ISIS recruitment video"})

    result = anyio.run(go)
    assert result.is_error
    error = result.structured_content["error"]
    assert error["code"] == "moderation_blocked" and error["category"] == "extremism"
    assert "extremism" in result.content[0].text


def test_plus_key_asking_for_20_seconds_gets_the_plans_refusal(server):
    async def go():
        async with http_session(server, server.keys["bob"]) as s:
            return await s.call_tool("generate_video", {"prompt": "a blue cube slides left", "seconds": 20})

    result = anyio.run(go)
    assert result.is_error
    error = result.structured_content["error"]
    assert error["code"] == "duration_exceeds_plan" and error["param"] == "seconds", error
    assert "plus allows up to 10 s" in error["message"]


def test_arguments_that_fail_the_schema_are_one_error_naming_each_field(server):
    async def go():
        async with http_session(server, server.keys["alice"]) as s:
            bad = await s.call_tool("generate_video", {"prompt": "", "seconds": "abc"})
            missing = await s.call_tool("get_video", {})
            return bad, missing

    bad, missing = anyio.run(go)
    assert bad.is_error and missing.is_error
    error = bad.structured_content["error"]
    assert error["code"] == "invalid_request" and error["param"] == "prompt", error
    text = bad.content[0].text
    assert "`prompt`" in text and "`seconds`" in text and "(got 'abc')" in text and "plus 10 s" in text
    assert "pydantic" not in text and "validation error" not in text, text
    assert missing.structured_content["error"]["param"] == "video_id"
    assert "Field required" in missing.content[0].text and "video_0123" in missing.content[0].text


def test_mcp_without_a_valid_key_is_refused(server):
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    for headers in ({}, {"Authorization": "Bearer zk-not-a-key"}):
        r = httpx.post(server.url + "/mcp", json=body, headers=headers, timeout=10)
        assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"


def test_resources_list_the_callers_own_videos_and_the_storyboard_prompt(server):
    async def go():
        async with http_session(server, server.keys["alice"]) as s:
            made = await s.call_tool("generate_image", {"prompt": "a green triangle", "size": "64x64"})
            listed = await s.list_resources()
            recent = await s.read_resource("zoetrope://videos/recent")
            prompt = await s.get_prompt("storyboard", {"idea": "a ball rolls", "seconds": "8"})
        async with http_session(server, server.keys["bob"]) as s:
            others = await s.list_resources()
            image_id = made.structured_content["id"]
            try:
                await s.read_resource(f"zoetrope://videos/{image_id}")
                refused = None
            except Exception as e:  # the SDK raises the server's JSON-RPC error
                refused = str(e)
            try:
                await s.get_prompt("storyboard", {"idea": "a dog", "seconds": "abc"})
                bad_prompt = None
            except Exception as e:
                bad_prompt = str(e)
        return made, listed, recent, prompt, others, refused, bad_prompt

    made, listed, recent, prompt, others, refused, bad_prompt = anyio.run(go)
    assert bad_prompt is not None and "seconds must be a whole number" in bad_prompt, bad_prompt
    # Another account's video reads as one that does not exist, and says so.
    assert refused is not None and "no video" in refused, refused
    assert not made.is_error, made.content
    image_id = made.structured_content["id"]
    uris = [str(r.uri) for r in listed.resources]
    assert "zoetrope://videos/recent" in uris and f"zoetrope://videos/{image_id}" in uris
    assert image_id in recent.contents[0].text
    assert f"zoetrope://videos/{image_id}" not in [str(r.uri) for r in others.resources]
    assert "generate_video" in prompt.messages[0].content.text


def test_seconds_take_decimals_as_the_api_does_and_a_videos_id_is_not_an_image(server):
    async def go():
        async with http_session(server, server.keys["alice"]) as s:
            short = await s.call_tool(
                "generate_video", {"prompt": "a red ball rolls right", "seconds": 1.3, "size": "64x64"}
            )
            animated = await s.call_tool(
                "animate_image", {"prompt": "it moves", "image_id": short.structured_content["id"], "wait": False}
            )
            every = await s.call_tool("list_videos", {"limit": 100})
            oldest = every.content[0].text.splitlines()[-1].split()[0]
            past_the_end = await s.call_tool("list_videos", {"after": oldest})
            return short, animated, past_the_end

    short, animated, past_the_end = anyio.run(go)
    assert "last page" in past_the_end.content[0].text  # not "no videos yet"
    assert not short.is_error, short.content
    assert short.structured_content["seconds"] == "1.25"  # 10 frames at 8 fps: what the file holds
    assert animated.is_error and animated.structured_content["error"]["param"] == "image_id"
    assert "extend_video" in animated.content[0].text
