"""What both transports answer for a message the SDK would refuse unclearly: a batch, a string
holding a lone UTF-16 surrogate, or an object that is not one JSON-RPC 2.0 message."""

from __future__ import annotations

import json
import re

from mcp.types import INVALID_PARAMS, INVALID_REQUEST, jsonrpc_message_adapter
from mcp_types.methods import SPEC_CLIENT_METHODS
from pydantic import ValidationError

_ESCAPE = r"\\u[dD][89a-fA-F]"  # JSON's escape of a UTF-16 surrogate, \ud800-\udfff
_ESCAPES = {str: re.compile(_ESCAPE), bytes: re.compile(_ESCAPE.encode())}
NOT_A_MESSAGE = (
    'not a JSON-RPC 2.0 message: send an object with "jsonrpc": "2.0", a "method" (a string), '
    'its "params" (an object) and, for a request, an "id" (a string or an integer)'
)


def message_problem(message: object, *, per: str, surrogates: bool = True) -> dict | None:
    """The JSON-RPC error for a parsed JSON value that is not one JSON-RPC 2.0 message the SDK can
    read, naming what is wrong and how to send it (`per`: what carries one message, "POST" or
    "line"); None where it is one. `surrogates`: whether the text it was parsed from holds a
    surrogate escape (only an escape can make a lone surrogate, so without one the walk is skipped)."""
    if isinstance(message, list):
        return rpc_error(
            INVALID_REQUEST,
            f"batch requests are not supported (MCP 2025-06-18 removed them): send one JSON-RPC message per {per}",
        )
    if surrogates and isinstance(message, dict) and (found := lone_surrogate(message)) is not None:
        path, char = found
        return rpc_error(
            INVALID_PARAMS if path.startswith("params") else INVALID_REQUEST,
            f"{path} holds a lone UTF-16 surrogate, \\u{ord(char):04x}, which is not a character: send the text "
            "as valid UTF-8, or a character beyond U+FFFF as a surrogate pair (e.g. \\ud83d\\ude00)",
            _id(message) if path != "id" else None,
        )
    if isinstance(message, dict) and message.get("method") in SPEC_CLIENT_METHODS and _id(message) is None:
        return request_without_id(message["method"], message.get("id", _MISSING))
    try:
        jsonrpc_message_adapter.validate_python(message, by_name=False)
    except ValidationError:
        return rpc_error(INVALID_REQUEST, NOT_A_MESSAGE, _id(message))
    return None


_MISSING = object()


def request_without_id(method: str, sent: object = _MISSING) -> dict:
    """The JSON-RPC error for a request sent with no usable id (none, null, true, 1.5): the SDK reads
    it as a notification, which is never answered, and the client would wait for ever."""
    given = "" if sent is _MISSING else f", not {_kind(sent)}"
    return rpc_error(
        INVALID_REQUEST,
        f'{method} is a request: give it an "id", a string or an integer{given}, so its answer can name it',
    )


def _kind(value: object) -> str:
    if isinstance(value, list | dict):
        return "an array" if isinstance(value, list) else "an object"
    return json.dumps(value)[:40]


def lone_surrogate(message: dict) -> tuple[str, str] | None:
    """Where in a parsed message a string (or a key) holds a lone surrogate, and which one: JSON's
    `\\ud800` escape parses to one, but it is not a character and the SDK cannot read it."""
    stack: list[tuple[str, object]] = [("", message)]
    while stack:  # a loop, not recursion: json.loads accepts nesting deeper than the stack allows
        path, value = stack.pop()
        if isinstance(value, str):
            if (char := next((c for c in value if "\ud800" <= c <= "\udfff"), None)) is not None:
                return path, char
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", v) for i, v in reversed(list(enumerate(value))))
        elif isinstance(value, dict):
            for k, v in reversed(list(value.items())):
                stack.append((f"{path}.{k}" if path else k, v))
                stack.append((f"{path or 'the message'} (one of its keys)", k))
    return None


def holds_surrogate_escape(text: str | bytes) -> bool:
    """Whether JSON text holds a surrogate's escape (`\\ud800`), the only way it can spell a lone one."""
    return _ESCAPES[type(text)].search(text) is not None


def rpc_error(code: int, message: str, rid: str | int | None = None) -> dict:
    return {"jsonrpc": "2.0", "id": rid, "error": {"code": code, "message": message}}


def _id(message: object) -> str | int | None:
    """The message's id where it is one a reply can carry (a string or an integer), else None."""
    rid = message.get("id") if isinstance(message, dict) else None
    return rid if isinstance(rid, str | int) and not isinstance(rid, bool) else None
