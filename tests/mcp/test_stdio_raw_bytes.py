"""`zoetrope mcp` over stdio refuses a line that is not UTF-8, as the HTTP endpoint does, rather
than reading its bytes as U+FFFD and acting on text the client never sent."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

from tests.mcp.live import REPO


def test_stdio_answers_invalid_utf8_with_a_parse_error_naming_the_byte_and_keeps_serving(server):
    env = {**server.env, "ZOETROPE_API_KEY": server.keys["alice"]}
    proc = subprocess.Popen(
        [sys.executable, "-m", "zoetrope", "mcp", "--workers", "0"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=str(REPO),
    )  # fmt: skip
    init = {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}
    bad = b'{"jsonrpc": "2.0", "id": 7, "method": "ping", "params": {"_meta": {"note": "caf\xe9 \xff"}}}'
    lines = [
        json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init}).encode(),
        json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}).encode(),
        bad,
        json.dumps({"jsonrpc": "2.0", "id": 8, "method": "ping", "params": {"_meta": {"note": "café"}}}).encode(),
    ]
    watchdog = threading.Timer(60, proc.kill)  # a line left unanswered fails the test, not hangs it
    watchdog.start()
    try:
        proc.stdin.write(b"\n".join(lines) + b"\n")
        proc.stdin.flush()
        answers = [json.loads(proc.stdout.readline() or "null") for _ in range(3)]
    finally:
        watchdog.cancel()
        proc.stdin.close()
        proc.wait(timeout=30)
        stderr = proc.stderr.read().decode()
    assert "Traceback" not in stderr, stderr
    assert answers[0]["id"] == 1 and "result" in answers[0], answers
    refused = answers[1]
    assert refused["id"] is None and refused["error"]["code"] == -32700, answers
    message = refused["error"]["message"]
    offset = bad.index(b"\xe9")
    assert f"byte {offset}" in message and "0xe9" in message and "UTF-8" in message, message
    assert answers[2] == {"jsonrpc": "2.0", "id": 8, "result": {}}, answers  # valid UTF-8 still served
