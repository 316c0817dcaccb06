"""The MCP server over streamable HTTP at `/mcp` on the API app, behind the API's own keys."""

from __future__ import annotations

import json
from contextlib import asynccontextmanager

from fastapi import FastAPI
from mcp.server.mcpserver import Context
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
from mcp.server.transport_security import TransportSecuritySettings
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from zoetrope.errors import AuthenticationFailed, ZoetropeError
from zoetrope.mcp.server import build_server
from zoetrope.mcp.videos import Caller

PATH = "/mcp"


def _token(headers) -> str:
    header = headers.get("authorization") if headers else None
    if not header:
        raise AuthenticationFailed("missing API key: send 'Authorization: Bearer zk-...'")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthenticationFailed("malformed Authorization header: use 'Bearer zk-...'")
    return token.strip()


class _RequireKey:
    """Answers 401 in the API's error shape unless the request carries a valid API key."""

    def __init__(self, app: FastAPI, inner: StreamableHTTPASGIApp) -> None:
        self.app, self.inner = app, inner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            self.app.state.principals.get(self.app.state.services.engine, _token(headers))
        except ZoetropeError as e:
            body = json.dumps(
                {"error": {"message": e.message, "type": e.type, "param": e.param, "code": e.code}}
            )
            await send(
                {
                    "type": "http.response.start",
                    "status": e.status,
                    "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")],
                }
            )
            await send({"type": "http.response.body", "body": body.encode()})
            return
        await self.inner(scope, receive, send)


def mount(app: FastAPI) -> None:
    """Serve MCP at `/mcp` on `app` (stateless streamable HTTP, so any replica answers any call)."""

    async def resolve(ctx: Context) -> Caller:
        svc = app.state.services
        principal = app.state.principals.get(svc.engine, _token(ctx.headers))
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
