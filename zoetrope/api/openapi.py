"""`/openapi.json` as the server answers: what FastAPI reads from the routes, completed with what
it cannot see there (the bearer key, which a dependency reads; refusals, which are OpenAI's error
object and never FastAPI's 422; the models and sizes this server makes)."""

from __future__ import annotations

import copy

from fastapi import FastAPI

from zoetrope.api.bodies import IDEMPOTENCY_KEY, refusal
from zoetrope.backends.registry import Registry
from zoetrope.errors import ZoetropeError
from zoetrope.jobs.sizes import plan_size

ERROR = {
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
# Sizes clients ask for (OpenAI's), listed where a model makes their aspect, beside the native ones.
VIDEO_SIZES = ("720x1280", "1280x720", "1024x1792", "1792x1024")
IMAGE_SIZES = ("1024x1024", "1536x1024", "1024x1536")


def install(app: FastAPI) -> None:
    """Serve the completed spec at `/openapi.json` (built once, on the first request for it)."""
    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            app.openapi_schema = complete(copy.deepcopy(build()), app.state.services.registry)
        return app.openapi_schema

    app.openapi = openapi


def complete(schema: dict, registry: Registry) -> dict:
    """`schema` with the key, the refusals every operation may answer, and the server's models and
    sizes as the enums of the create bodies."""
    components = schema.setdefault("components", {})
    components["securitySchemes"] = {
        "apiKey": {"type": "http", "scheme": "bearer", "description": "An API key, zk-..."}
    }
    schemas = components.setdefault("schemas", {})
    schemas["Error"] = ERROR
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    models = [m.id for m in registry.listings()]
    sizes = {
        "/v1/videos": _sizes(registry, VIDEO_SIZES),
        "/v1/images": ["auto", *_sizes(registry, IMAGE_SIZES)],
    }
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            if responses.pop("422", None) is not None:
                responses["400"] = refusal("A field is missing or wrong; `param` names it")
            if not path.startswith("/v1/"):
                continue
            operation.setdefault("security", [{"apiKey": []}])
            responses["401"] = refusal("No API key, or not a valid one")
            if "{" in path:
                responses.setdefault("404", refusal("No such one of yours"))
            if "requestBody" in operation:  # the upload cap is on every body (`forms.BodyLimit`)
                responses.setdefault("413", refusal("The request body is over the upload limit"))
            if path.startswith("/v1/admin/"):
                responses.setdefault("403", refusal("The admin API needs a key of an admin account"))
            responses.setdefault(
                "503", refusal("The database or storage is away for a moment; see Retry-After")
            )
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "header" and parameter["name"] == "idempotency-key":
                    parameter["schema"] = IDEMPOTENCY_KEY
            kind = next((prefix for prefix in sizes if path.startswith(prefix)), None)
            for content in operation.get("requestBody", {}).get("content", {}).values() if kind else ():
                fields = content["schema"].get("properties", {})
                if "model" in fields:
                    fields["model"] = {**fields["model"], "enum": models}
                if "size" in fields:
                    fields["size"] = {**fields["size"], "enum": sizes[kind]}
    return schema


def _sizes(registry: Registry, common: tuple[str, ...]) -> list[str]:
    """The native sizes of the server's models, then those of `common` that one of them makes."""
    native, made = [], []
    for name in registry.model_names():
        try:
            caps = registry.backend(name).capabilities
        except (ZoetropeError, ImportError):  # a model this process cannot build is left out
            continue
        native += [f"{w}x{h}" for w, h in caps.sizes]
        for size in common:
            try:
                plan_size(size, caps, name)
            except ZoetropeError:
                continue
            made.append(size)
    return list(dict.fromkeys(native + made))
