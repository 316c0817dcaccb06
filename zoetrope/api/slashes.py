"""`/v1/videos/` is `/v1/videos`: a path with a trailing slash is served as the path without it,
everywhere (the API, MCP, the studio's pages and forms, /healthz, /metrics, the docs).

Starlette would answer it with a 307 to an absolute URL of the scheme it sees, which behind a TLS
proxy is plain http (uvicorn trusts X-Forwarded-Proto only from FORWARDED_ALLOW_IPS, loopback by
default): a browser would leave https, a form posted there would be sent again in the clear, and a
client that does not follow redirects gets no answer at all. The studio's links are absolute paths
or query strings, so a page reads the same at either address."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


class TrailingSlash:
    """Pure ASGI middleware: strip the trailing slashes of a path (other than `/`) before routing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and len(path) > 1 and path.endswith("/"):
            scope = {**scope, "path": path.rstrip("/") or "/"}
            if scope.get("raw_path") is not None:
                scope["raw_path"] = scope["raw_path"].rstrip(b"/") or b"/"
        await self.app(scope, receive, send)
