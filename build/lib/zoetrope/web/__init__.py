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


__all__ = ["mount"]
