"""The studio: server-rendered pages over the `/v1` API, served by `zoetrope serve` at `/`."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from zoetrope.web import models as _models  # noqa: F401  (registers the studio's tables)

STATIC = Path(__file__).parent / "static"


def mount(app: FastAPI) -> None:
    """Add the studio's pages to the API app; a signed-in browser may then call `/v1` with its cookie."""
    from zoetrope.web import actions, pages, session
    from zoetrope.web.views import SignInRequired, to_sign_in

    app.state.session_principal = session.principal  # the API's `principal` asks it for cookie sessions
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(pages.router)
    app.include_router(actions.router)
    app.add_exception_handler(SignInRequired, lambda request, _: to_sign_in(request))
    _pages_answer_in_html(app)


# Where the JSON error body stays: the API, MCP, static files and the pages' own JSON endpoints.
_JSON_PATHS = ("/v1/", "/mcp", "/static/", "/studio/", "/metrics", "/openapi", "/docs", "/redoc")


def _pages_answer_in_html(app: FastAPI) -> None:
    """A browser asking for a page gets the studio's styled message for a 4xx (a bad `?page=`, a path
    that is not there), not the API's JSON error body; everything else answers as before."""
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException

    from zoetrope.errors import ZoetropeError
    from zoetrope.web.views import render, viewer

    def wrap(kind):
        api_handler = app.exception_handlers[kind]

        async def handler(request, exc):
            response = await api_handler(request, exc)
            page = request.method == "GET" and "text/html" in request.headers.get("accept", "")
            if not page or request.url.path.startswith(_JSON_PATHS) or "/content" in request.url.path:
                return response
            if not 400 <= response.status_code < 500:
                return response
            title = "Not found" if response.status_code == 404 else "That did not work"
            message = getattr(exc, "message", None) or (
                "There is no page here." if response.status_code == 404 else "The address holds a value the page "
                "cannot use; go back and try again."
            )
            return render(request, "message.html", viewer(request, required=False), response.status_code,
                          title=title, message=message)

        app.add_exception_handler(kind, handler)

    for kind in (RequestValidationError, HTTPException, ZoetropeError):
        wrap(kind)


__all__ = ["mount"]
