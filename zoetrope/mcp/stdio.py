"""The MCP server over stdio, for assistants that launch `zoetrope mcp` themselves.

The process authenticates once with the API key it is given and acts as that key's account;
it uses the same database and blob store as `zoetrope serve` (the same data dir or URLs)."""

from __future__ import annotations

from mcp.server.mcpserver import Context
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage
from mcp.types import INVALID_REQUEST, PARSE_ERROR, ErrorData, JSONRPCError
from pydantic import ValidationError

from zoetrope.api.deps import Services, new_principal_cache
from zoetrope.jobs.runtime import Runtime
from zoetrope.mcp.server import build_server
from zoetrope.mcp.videos import Caller


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
        while isinstance(item := await take(), ValidationError):
            await self.write.send(SessionMessage(_line_error(item)))
        return item

    async def aclose(self) -> None:
        await self.read.aclose()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()


def _line_error(error: ValidationError) -> JSONRPCError:
    """The JSON-RPC error for a stdin line the SDK could not read as a message."""
    errors = error.errors(include_url=False)
    if any(e["type"] == "json_invalid" for e in errors):
        return JSONRPCError(
            jsonrpc="2.0", id=None, error=ErrorData(code=PARSE_ERROR, message="Parse error: not JSON")
        )
    sent = errors[0].get("input") if errors else None
    if isinstance(sent, list):
        message = "batch requests are not supported (MCP 2025-06-18 removed them): send one JSON-RPC message per line"
    else:
        message = (
            'not a JSON-RPC 2.0 message: send an object with "jsonrpc": "2.0", a "method" (a string), '
            'its "params" (an object) and, for a request, an "id" (a string or an integer)'
        )
    rid = sent.get("id") if isinstance(sent, dict) else None
    rid = rid if isinstance(rid, str | int) and not isinstance(rid, bool) else None
    return JSONRPCError(jsonrpc="2.0", id=rid, error=ErrorData(code=INVALID_REQUEST, message=message))


async def _serve(runtime: Runtime, token: str, public_url: str | None) -> None:
    svc = Services(runtime.engine, runtime.registry, runtime.blobs, runtime.policy)
    principals = new_principal_cache()
    principals.get(svc.engine, token)  # a bad key fails here, before the assistant connects

    async def resolve(ctx: Context) -> Caller:
        # Looked up again (cached for seconds), so a revoked key stops working mid-session too.
        return Caller(svc, await principals.resolve(svc.engine, token), public_url)

    server = build_server(resolve)._lowlevel_server
    async with stdio_server() as (read, write):
        await server.run(_AnsweringBadLines(read, write), write, server.create_initialization_options())


def run_stdio(runtime: Runtime, token: str, public_url: str | None) -> None:
    """Serve MCP on stdin/stdout as the account of `token` until the client hangs up."""
    import anyio

    anyio.run(_serve, runtime, token, public_url)
