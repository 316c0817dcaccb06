"""The FastAPI app: `/v1/*`, `/metrics`, `/healthz`, `/openapi.json`."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI

from zoetrope.api import errors, metrics, openapi, security
from zoetrope.api.deps import Services, new_principal_cache, revocations_heard
from zoetrope.api.forms import BodyLimit
from zoetrope.api.routes import access, images, models, safety, tasks, videos
from zoetrope.api.slashes import TrailingSlash
from zoetrope.settings import get_settings


def create_app(svc: Services) -> FastAPI:
    """An app over these services (engine, registry, blob store); workers run elsewhere."""
    app = FastAPI(
        title="Zoetrope",
        version="0.1.0",
        description="An OpenAI-compatible Videos API backed by a durable job queue.",
    )
    app.state.services = svc
    app.state.principals = new_principal_cache()
    errors.install(app)
    app.add_middleware(BodyLimit)  # inside the security headers, which its 413 gets too
    security.install(app, get_settings().cors_origins)
    app.add_middleware(TrailingSlash)  # `/v1/videos/` answered as `/v1/videos`, not redirected
    app.include_router(tasks.router)
    for router in (videos.router, images.router, models.router, metrics.router, access.router, safety.router):
        app.include_router(router)
    from zoetrope.mcp.http import mount as mount_mcp  # MCP at /mcp, same keys and services

    mount_mcp(app)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict:
        return {"status": "ok"}

    openapi.install(app)
    outer = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(a):
        # Keys revoked and accounts disabled by any process are refused here at once (PostgreSQL).
        with revocations_heard(svc.engine, app.state.principals):
            async with outer(a) as state:
                yield state

    app.router.lifespan_context = lifespan
    return app
