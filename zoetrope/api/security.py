"""Response hardening: security headers on every response, and CORS closed unless configured."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The API serves JSON and media; the studio's pages come from the same origin, so no frames
# from elsewhere, no MIME sniffing and no referrer leaking video ids to other sites.
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class SecurityHeaders:
    """Pure ASGI middleware (no per-request task or body buffering) adding SECURITY_HEADERS."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in names]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


# What a browser may send: the `openai` JS and Python clients' own headers (their `x-stainless-*`
# platform, retry and helper headers by prefix, a set that grows with their versions), ours, and
# those of a download that resumes or revalidates.
CORS_ALLOW_HEADERS = [
    "authorization",
    "content-type",
    "idempotency-key",
    "openai-organization",
    "openai-project",
    "openai-beta",
    "zoetrope-quote",
    "range",
    "if-range",
    "if-none-match",
]
CORS_ALLOW_PREFIX = "x-stainless-"
# What a page may read of an answer beyond the safelisted headers: every other one the API sends.
CORS_EXPOSE_HEADERS = [
    "openai-poll-after-ms",
    "content-range",
    "accept-ranges",
    "etag",
    "retry-after",
    "content-disposition",
]


def install(app: FastAPI, cors_origins: list[str]) -> None:
    """Add the headers; allow cross-origin calls only from `cors_origins` (none by default)."""
    if cors_origins:
        app.add_middleware(
            _CORS,
            allow_origins=cors_origins,
            allow_methods=["GET", "HEAD", "POST", "PATCH", "DELETE"],
            allow_headers=CORS_ALLOW_HEADERS,
            expose_headers=CORS_EXPOSE_HEADERS,
        )
    app.add_middleware(SecurityHeaders)


class _Allowed(list):
    """The allowed header names, and any under CORS_ALLOW_PREFIX."""

    def __contains__(self, name: object) -> bool:
        return super().__contains__(name) or (isinstance(name, str) and name.startswith(CORS_ALLOW_PREFIX))


class _CORS(CORSMiddleware):
    """Starlette's CORS, with the `x-stainless-*` headers allowed by prefix: a preflight asking for
    them is answered with them in Access-Control-Allow-Headers beside the listed ones."""

    def __init__(self, app: ASGIApp, **kw) -> None:
        super().__init__(app, **kw)
        self.allow_headers = _Allowed(self.allow_headers)

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        asked = request_headers.get("access-control-request-headers", "")
        prefixed = [
            h.strip().lower() for h in asked.split(",") if h.strip().lower().startswith(CORS_ALLOW_PREFIX)
        ]
        if response.status_code == 200 and prefixed:
            listed = response.headers["access-control-allow-headers"]
            response.headers["access-control-allow-headers"] = ", ".join([listed, *prefixed])
        return response
