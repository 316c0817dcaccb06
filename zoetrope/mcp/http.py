"""The MCP server over streamable HTTP at `/mcp` on the API app, behind the API's own keys."""

from __future__ import annotations

import json
from contextlib import asynccontextmanager

from fastapi import FastAPI
from mcp.server.mcpserver import Context
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import INVALID_REQUEST
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from zoetrope.errors import AuthenticationFailed, ZoetropeError
from zoetrope.mcp.server import build_server
from zoetrope.mcp.videos import Caller
from zoetrope.mcp.wire import holds_surrogate_escape, message_problem, rpc_error

PATH = "/mcp"
PROTOCOL_VERSIONS = (*HANDSHAKE_PROTOCOL_VERSIONS, *MODERN_PROTOCOL_VERSIONS)


def _token(headers) -> str:
    header = headers.get("authorization") if headers else None
    if not header:
        raise AuthenticationFailed("missing API key: send 'Authorization: Bearer zk-...'")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed("malformed Authorization header: use 'Bearer zk-...'")
    return token.strip()


class _RequireKey:
    """Answers 401 in the API's error shape unless the request carries a valid API key, and answers
    for the transport what the SDK's would answer unclearly: a GET (this stateless server sends
    nothing outside a response), another content type, a batch or a message that is not JSON-RPC."""

    def __init__(self, app: FastAPI, inner: StreamableHTTPASGIApp) -> None:
        self.app, self.inner = app, inner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            # A cache miss writes the key's last_used_at, which may wait for the database's write
            # lock: in the threadpool, so the event loop (every other request) does not wait with it.
            await self.app.state.principals.resolve(self.app.state.services.engine, _token(headers))
        except ZoetropeError as e:
            body = {"error": {"message": e.message, "type": e.type, "param": e.param, "code": e.code}}
            await _answer(send, e.status, body, [(b"www-authenticate", b"Bearer")])
            return
        if scope["method"] == "GET":
            message = "this server is stateless and sends messages only in answer to a POST: there is no stream to GET"
            await _answer(send, 405, rpc_error(INVALID_REQUEST, message), [(b"allow", b"POST")])
            return
        if scope["method"] != "POST":
            await self.inner(scope, receive, send)
            return
        if headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
            message = f"send the JSON-RPC message as Content-Type: application/json, not {headers.get('content-type')!r}"
            await _answer(send, 415, rpc_error(INVALID_REQUEST, message))
            return
        version = headers.get("mcp-protocol-version")
        if version is not None and version not in PROTOCOL_VERSIONS:
            message = f"unsupported MCP-Protocol-Version {version[:40]!r}; this server speaks {', '.join(PROTOCOL_VERSIONS)}"
            await _answer(send, 400, rpc_error(INVALID_REQUEST, message))
            return
        body = await _read_body(receive)
        if (problem := _not_a_message(body)) is not None:
            await _answer(send, 400, problem)
            return
        await self.inner(scope, _replay(body, receive), send)


def _not_a_message(body: bytes) -> dict | None:
    """The JSON-RPC error for a body that parses as JSON but is not one JSON-RPC 2.0 message (the
    SDK would answer -32602 with pydantic's report, or -32700 for a lone surrogate escape); None for
    anything the SDK answers well."""
    try:
        message = json.loads(body)
    except (ValueError, RecursionError):
        return None  # the SDK answers -32700 Parse error
    return message_problem(message, per="POST", surrogates=holds_surrogate_escape(body))


async def _answer(send: Send, status: int, body: dict, headers: list | None = None) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), *(headers or [])],
        }
    )
    await send({"type": "http.response.body", "body": json.dumps(body).encode()})


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:  # the API's body limit (outside this app) has already capped its size
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands the inner app the body already read, then whatever comes after."""
    sent = False

    async def again():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again


def mount(app: FastAPI) -> None:
    """Serve MCP at `/mcp` on `app` (stateless streamable HTTP, so any replica answers any call)."""

    async def resolve(ctx: Context) -> Caller:
        svc = app.state.services
        principal = await app.state.principals.resolve(svc.engine, _token(ctx.headers))
        request = ctx.request_context.request
        base_url = str(request.base_url) if request is not None else None
        return Caller(svc, principal, base_url)

    server = build_server(resolve)
    # Every call carries an API key, so the SDK's DNS-rebinding guard (for keyless localhost
    # servers) is not needed, and it would refuse the server's own public host name.
    server.streamable_http_app(
        stateless_http=True,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    app.router.routes.append(
        Route(PATH, endpoint=_RequireKey(app, StreamableHTTPASGIApp(server.session_manager)))
    )
    outer = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a):
        async with server.session_manager.run(), outer(a) as state:
            yield state

    app.router.lifespan_context = lifespan
