"""The generation tools tell the assistant the words the bundled model was given where they are not
the prompt as typed (weights whose config says `plain_prompts`, as the bundled ones do), so it can
explain a result; a prompt given as typed answers nothing of the kind."""

from __future__ import annotations

import json

import anyio
import pytest

from tests.mcp.live import INIT, Server, http_session, serving, stdio_answers

READ_AS = "The model read the prompt as"


@pytest.fixture(scope="module")
def plain(tmp_path_factory) -> Server:
    from zoetrope.backends.bundled import write_tiny_random_weights

    weights = write_tiny_random_weights(tmp_path_factory.mktemp("plain-weights"))
    config = weights / "config.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "plain_prompts": True}))
    with serving(tmp_path_factory.mktemp("plain-serve"), weights) as live:
        yield live


def _texts(content) -> str:
    return "\n".join(c.text for c in content if c.type == "text")


def test_a_finished_image_says_how_the_model_read_its_prompt(plain):
    async def go():
        async with http_session(plain, plain.keys["alice"]) as s:
            read = await s.call_tool(
                "generate_image", {"prompt": "a ball colored violet whirling around", "size": "64x64"}
            )
            typed = await s.call_tool("generate_image", {"prompt": "a cat on a sofa", "size": "64x64"})
            return read, typed

    read, typed = anyio.run(go)
    assert not read.is_error and read.structured_content["status"] == "completed", read.content
    assert read.structured_content["revised_prompt"] == "a purple circle spins"
    assert f'{READ_AS}: "a purple circle spins".' in _texts(read.content)
    assert not typed.is_error and typed.structured_content["status"] == "completed", typed.content
    assert "revised_prompt" not in typed.structured_content
    assert READ_AS not in _texts(typed.content)


def test_a_queued_video_over_stdio_says_it_too(plain):
    def call(n: int, prompt: str) -> dict:
        arguments = {"prompt": prompt, "seconds": 1, "size": "64x112", "wait": False}
        return {"jsonrpc": "2.0", "id": n, "method": "tools/call",
                "params": {"name": "generate_video", "arguments": arguments}}  # fmt: skip

    lines = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": INIT},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        call(2, "a ball colored violet whirling around"),
        call(3, "a cat on a sofa"),
    ]
    answers, stderr = stdio_answers(plain, lines, 3)
    by_id = {a["id"]: a["result"] for a in answers[1:]}  # the two calls run at once: either may answer first
    read, typed = by_id[2], by_id[3]
    assert not read["isError"], (read, stderr)
    assert read["structuredContent"]["revised_prompt"] == "a purple circle spins", read
    assert any(READ_AS in c.get("text", "") for c in read["content"]), read
    assert not typed["isError"] and "revised_prompt" not in typed["structuredContent"], typed
    assert not any(READ_AS in c.get("text", "") for c in typed["content"]), typed
