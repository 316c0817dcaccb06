"""The MCP server over stdio, for assistants that launch `zoetrope mcp` themselves.

The process authenticates once with the API key it is given and acts as that key's account;
it uses the same database and blob store as `zoetrope serve` (the same data dir or URLs)."""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager, suppress
from io import TextIOWrapper

import anyio
from mcp.server.mcpserver import Context
from mcp.server.stdio import _claim_fd, _open_stdin_diversion, stdio_server
from mcp.shared.message import SessionMessage
from mcp.types import PARSE_ERROR, JSONRPCError, JSONRPCNotification
from mcp_types.methods import SPEC_CLIENT_METHODS
from pydantic import ValidationError

from zoetrope.api.deps import Services, new_principal_cache, revocations_heard
from zoetrope.jobs.runtime import Runtime
from zoetrope.mcp.server import build_server
from zoetrope.mcp.videos import Caller
from zoetrope.mcp.wire import holds_surrogate_escape, message_problem, request_without_id, rpc_error


class _AnsweringBadLines:
    """The transport's read stream, less the lines that are not JSON-RPC messages: each of those is
    answered with its JSON-RPC error (-32700 or -32600), where the SDK would drop it unanswered and
    leave the client waiting for a reply that never comes."""

    def __init__(self, read, write) -> None:
        self.read, self.write = read, write

    @property
    def last_context(self):
        return getattr(self.read, "last_context", None)

    async def receive(self):
        return await self._next(self.read.receive)

    def __aiter__(self):
        return self

    async def __anext__(self):
        return await self._next(self.read.__anext__)  # StopAsyncIteration at the end of stdin

    async def _next(self, take):
        while (error := _answer(item := await take())) is not None:
            await self.write.send(SessionMessage(error))
        return item

    async def aclose(self) -> None:
        await self.read.aclose()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()


def _answer(item) -> JSONRPCError | None:
    """The error that answers `item` in place of the server, or None for a message to serve."""
    if isinstance(item, ValidationError):
        return _line_error(item)
    message = getattr(item, "message", None)
    if isinstance(message, JSONRPCNotification) and message.method in SPEC_CLIENT_METHODS:
        # A request whose id was left out or is not one (true, 1.5, null): read as a notification.
        return JSONRPCError.model_validate(request_without_id(message.method))
    return None


def _line_error(error: ValidationError) -> JSONRPCError:
    """The JSON-RPC error for a stdin line the SDK could not read as a message: what the HTTP
    endpoint answers for a batch, a string holding a lone surrogate or an object that is not a
    message, else -32700."""
    errors = error.errors(include_url=False)
    sent = errors[0].get("input") if errors else None
    if isinstance(sent, str) and (bad := _undecodable(sent)) is not None:
        offset, byte = bad
        return JSONRPCError.model_validate(rpc_error(
            PARSE_ERROR,
            f"Parse error: byte {offset} of the line (0x{byte:02x}) is not valid UTF-8: send each message as UTF-8 "
            "text (JSON's \\u escapes, e.g. \\u00e9, spell any character in plain ASCII)",
        ))
    problem = None
    if errors and errors[0]["type"] == "json_invalid":  # `sent` is the line as read
        # The SDK's parser refuses a lone surrogate's escape, which Python's reads: such a line is a
        # message holding one, named as over HTTP; any other line it refuses is not JSON.
        if isinstance(sent, str) and holds_surrogate_escape(sent):
            with suppress(ValueError, RecursionError):
                problem = message_problem(json.loads(sent), per="line")
    else:  # parsed, so it holds no lone surrogate
        problem = message_problem(sent, per="line", surrogates=False)
    return JSONRPCError.model_validate(problem or rpc_error(PARSE_ERROR, "Parse error: not JSON"))


def _undecodable(line: str) -> tuple[int, int] | None:
    """The offset in the line's bytes of the first one that is not UTF-8, and that byte; None where
    they all are. stdin is read with `surrogateescape`, which keeps each such byte as U+DC80-U+DCFF
    (a strict UTF-8 decode never yields a surrogate, so one in the line can only be such a byte)."""
    if not any("\udc80" <= c <= "\udcff" for c in line):
        return None
    raw = line.encode("utf-8", "surrogateescape")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return e.start, raw[e.start]
    return None


class _StdinText(TextIOWrapper):
    """stdin as text that keeps the bytes that are not UTF-8 (as lone surrogates, which the reader
    refuses and `_line_error` names) where the SDK's own reader would turn them into U+FFFD and serve
    the message; closing it leaves the underlying buffer open, as the SDK's does."""

    def close(self) -> None:
        with suppress(ValueError):
            self.detach()


@contextmanager
def _stdin_lines():
    """The wire's stdin, claimed as the SDK claims it (fd 0 reads the null device meanwhile, so a
    child process cannot take the client's bytes), read with `surrogateescape`."""
    buffer, release = _claim_fd(0, sys.stdin, "rb", _open_stdin_diversion)
    try:
        yield anyio.wrap_file(_StdinText(buffer, encoding="utf-8", errors="surrogateescape"))
    finally:
        if release is not None:
            release()


async def _serve(runtime: Runtime, token: str, public_url: str | None) -> None:
    svc = Services(runtime.engine, runtime.registry, runtime.blobs, runtime.policy)
    principals = new_principal_cache()
    principals.get(svc.engine, token)  # a bad key fails here, before the assistant connects

    async def resolve(ctx: Context) -> Caller:
        # Looked up again (cached for seconds, forgotten once revoked), so a revoked key stops working
        # mid-session too.
        return Caller(svc, await principals.resolve(svc.engine, token), public_url)

    server = build_server(resolve)._lowlevel_server
    # A key revoked (or its account disabled) by another process ends this session's access at once
    # on PostgreSQL; elsewhere within the cache's seconds.
    with revocations_heard(svc.engine, principals), _stdin_lines() as stdin:
        async with stdio_server(stdin=stdin) as (read, write):
            await server.run(_AnsweringBadLines(read, write), write, server.create_initialization_options())


def run_stdio(runtime: Runtime, token: str, public_url: str | None) -> None:
    """Serve MCP on stdin/stdout as the account of `token` until the client hangs up."""
    anyio.run(_serve, runtime, token, public_url)
