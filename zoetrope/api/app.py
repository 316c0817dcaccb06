"""The FastAPI app: `/v1/*`, `/metrics`, `/healthz`, `/openapi.json`."""

from __future__ import annotations

from fastapi import FastAPI

from zoetrope.api import errors, metrics, security
from zoetrope.api.deps import Services, new_principal_cache
from zoetrope.api.routes import access, images, models, safety, tasks, videos
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
    security.install(app, get_settings().cors_origins)
    app.include_router(tasks.router)
    for router in (videos.router, images.router, models.router, metrics.router, access.router, safety.router):
        app.include_router(router)
    from zoetrope.mcp.http import mount as mount_mcp  # MCP at /mcp, same keys and services

    mount_mcp(app)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict:
        return {"status": "ok"}

    _document_auth(app)
    return app


_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["message", "type", "param", "code"],
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string"},
                "param": {"type": ["string", "null"]},
                "code": {"type": ["string", "null"]},
            },
        }
    },
}


def _document_auth(app: FastAPI) -> None:
    """The spec says what every `/v1` operation takes, `Authorization: Bearer zk-...` (the key is read
    by a dependency of the routes, which FastAPI cannot see as a security scheme on its own), and
    what a refusal looks like: OpenAI's error object with 400 (and 401), not FastAPI's 422 report,
    which this server never sends (`zoetrope.api.errors`)."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = build()
            components = schema.setdefault("components", {})
            components["securitySchemes"] = {
                "apiKey": {"type": "http", "scheme": "bearer", "description": "An API key, zk-..."}
            }
            schemas = components.setdefault("schemas", {})
            schemas["Error"] = _ERROR
            for name in ("HTTPValidationError", "ValidationError"):
                schemas.pop(name, None)
            error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            for path, operations in schema.get("paths", {}).items():
                for operation in operations.values():
                    responses = operation.setdefault("responses", {})
                    if responses.pop("422", None) is not None:
                        responses["400"] = {"description": "A field is missing or wrong; `param` names it", **error}
                    if path.startswith("/v1/"):
                        operation.setdefault("security", [{"apiKey": []}])
                        responses["401"] = {"description": "No API key, or not a valid one", **error}
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi
