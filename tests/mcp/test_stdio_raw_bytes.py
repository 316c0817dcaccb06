"""`zoetrope mcp` over stdio refuses a line that is not UTF-8, as the HTTP endpoint does, rather
than reading its bytes as U+FFFD and acting on text the client never sent."""

from __future__ import annotations

from tests.mcp.live import INIT, stdio_answers


def test_stdio_answers_invalid_utf8_with_a_parse_error_naming_the_byte_and_keeps_serving(server):
    bad = b'{"jsonrpc": "2.0", "id": 7, "method": "ping", "params": {"_meta": {"note": "caf\xe9 \xff"}}}'
    lines = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": INIT},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        bad,
        {"jsonrpc": "2.0", "id": 8, "method": "ping", "params": {"_meta": {"note": "café"}}},
    ]
    answers, stderr = stdio_answers(server, lines, 3)
    assert "Traceback" not in stderr, stderr
    assert answers[0]["id"] == 1 and "result" in answers[0], answers
    refused = answers[1]
    assert refused["id"] is None and refused["error"]["code"] == -32700, answers
    message = refused["error"]["message"]
    offset = bad.index(b"\xe9")
    assert f"byte {offset}" in message and "0xe9" in message and "UTF-8" in message, message
    assert answers[2] == {"jsonrpc": "2.0", "id": 8, "result": {}}, answers  # valid UTF-8 still served
