"""verify_media as a hostile caller sends it: a file that is not readable media is refused naming the
tool's own argument, never the server's temporary file."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

from tests.mcp.test_protocol import rpc


def _png() -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.random.default_rng(3).integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(out, "PNG")
    return out.getvalue()


def test_a_truncated_or_foreign_file_names_file_base64_not_the_servers_copy(server):
    png = _png()
    for data, words in (
        (png[: len(png) // 2], "not a readable PNG image"),
        (png[:16], "not a readable PNG image"),
        (b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 40, "corrupt or truncated video"),
        (b"GIF89a" + b"\x00" * 40, "not an MP4, PNG, JPEG or WebP"),
    ):
        arguments = {"file_base64": base64.b64encode(data).decode()}
        result = rpc(server, "tools/call", {"name": "verify_media", "arguments": arguments})["result"]
        assert result["isError"], result
        error = result["structuredContent"]["error"]
        assert error["param"] == "file_base64", error
        assert words in error["message"] and error["message"].startswith("file_base64 "), error
        assert "upload." not in error["message"], error


def test_base64_as_clients_write_it_is_read_and_a_bad_character_is_named(server):
    png = _png()
    plain = base64.b64encode(png).decode()
    for sent in (
        "data:image/png;base64," + plain,  # a data: URL, as a browser's FileReader gives it
        "\n".join(plain[i : i + 76] for i in range(0, len(plain), 76)) + "\n",  # MIME's line breaks
        base64.urlsafe_b64encode(png).decode().rstrip("="),  # base64url, its padding left off
    ):
        result = rpc(server, "tools/call", {"name": "verify_media", "arguments": {"file_base64": sent}})["result"]
        assert not result["isError"], (sent[:30], result)
        assert result["structuredContent"]["c2pa"]["state"] == "not_present", result
    broken = plain[:10] + "*" + plain[10:]
    result = rpc(server, "tools/call", {"name": "verify_media", "arguments": {"file_base64": broken}})["result"]
    error = result["structuredContent"]["error"]
    assert result["isError"] and error["param"] == "file_base64", result
    assert "'*' at character 11" in error["message"] and "base64-encoded" in error["message"], error


def test_params_that_fail_the_mcp_schema_name_the_field(server):
    for method, params, field in (
        ("tools/call", {"name": "verify_media", "arguments": [1, 2]}, "params.arguments"),
        ("tools/call", {"arguments": {}}, "params.name"),
        ("prompts/get", {"name": "storyboard", "arguments": {"idea": 123}}, "params.arguments.idea"),
        ("resources/read", {"uri": 5}, "params.uri"),
    ):
        error = rpc(server, method, params)["error"]
        assert error["code"] == -32602, error
        assert error["message"].startswith(f"{method}: {field}: "), error
    assert "result" in rpc(server, "tools/list", {})  # well-formed params are served as before


def test_a_request_without_a_usable_id_is_refused_not_taken_for_a_notification(server):
    from tests.mcp.test_protocol import post

    for body, given in (
        ({"jsonrpc": "2.0", "id": True, "method": "ping"}, ", not true"),
        ({"jsonrpc": "2.0", "id": None, "method": "tools/list"}, ", not null"),
        ({"jsonrpc": "2.0", "id": [1], "method": "tools/list"}, ", not an array"),
        ({"jsonrpc": "2.0", "method": "tools/call", "params": {"name": "list_videos"}}, ""),
    ):
        answer = post(server, server.keys["alice"], body)
        assert answer.status_code == 400, (body, answer.status_code, answer.text)
        error = answer.json()["error"]
        assert error["code"] == -32600 and answer.json()["id"] is None, error
        method = body["method"]
        assert error["message"].startswith(f'{method} is a request: give it an "id", a string or an integer{given}')
    notified = post(server, server.keys["alice"], {"jsonrpc": "2.0", "method": "notifications/initialized"})
    assert notified.status_code == 202, notified.text  # a notification is still one
