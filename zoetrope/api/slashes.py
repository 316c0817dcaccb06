"""`/v1/videos/` is `/v1/videos`: an API path with a trailing slash is served as the path without it.

Starlette would answer it with a 307 to an absolute URL of the scheme it sees, which behind a TLS
proxy is plain http (uvicorn trusts X-Forwarded-Proto only from FORWARDED_ALLOW_IPS, loopback by
default), and a client that does not follow redirects gets no answer at all."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

API_PREFIXES = ("/v1/", "/mcp/")


class TrailingSlash:
    """Pure ASGI middleware: strip the trailing slashes of an API path before routing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and path.endswith("/") and path.startswith(API_PREFIXES):
            scope = {**scope, "path": path.rstrip("/")}
            if "raw_path" in scope and scope["raw_path"] is not None:
                scope["raw_path"] = scope["raw_path"].rstrip(b"/")
        await self.app(scope, receive, send)
