"""The one mapping from errors to OpenAI's error shape: `{"error": {message, type, param, code}}`."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.routing import Match

from zoetrope.errors import ZoetropeError

log = logging.getLogger(__name__)

_TYPES = {
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    429: "rate_limit_error",
}


def error_response(
    status: int,
    message: str,
    *,
    type: str | None = None,
    param: str | None = None,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {
        "message": message,
        "type": type or _TYPES.get(status, "invalid_request_error" if status < 500 else "server_error"),
        "param": param,
        "code": code,
    }
    return JSONResponse({"error": body}, status_code=status, headers=headers)


async def _domain(_: Request, e: Exception) -> JSONResponse:
    assert isinstance(e, ZoetropeError)
    retry_after = getattr(e, "retry_after", None)  # QuotaExceeded, StorageUnavailable
    headers = dict(getattr(e, "headers", None) or {})  # RangeNotSatisfiable's Content-Range
    if retry_after:
        headers["retry-after"] = str(retry_after)
    return error_response(
        e.status, e.message, type=e.type, param=e.param, code=e.code, headers=headers or None
    )


def _param(loc: tuple) -> str | None:
    """A validation error's location as the client wrote the field: `cards[0].prompt`. Pydantic
    adds a union's member type (`input.str`) and the request part (`body`); neither is a field."""
    parts: list[str] = []
    for i, part in enumerate(loc):
        if i == 0 and part in ("body", "query", "path", "header", "cookie"):
            continue
        if isinstance(part, int):
            if not parts:  # an index into the body itself (a JSON error's offset)
                continue
            parts[-1] += f"[{part}]"
        elif parts and ("[" in part or part in _UNION_TAGS):
            break
        else:
            parts.append(part)
    return ".".join(parts) or None


_UNION_TAGS = {"str", "int", "float", "bool", "dict", "list", "none", "bytes"}


async def _validation(_: Request, e: Exception) -> JSONResponse:
    assert isinstance(e, RequestValidationError)
    first = e.errors()[0] if e.errors() else {}
    if first.get("type") == "json_invalid":
        return error_response(400, "request body is not valid JSON", code="invalid_request")
    param = _param(tuple(first.get("loc", ())))
    return error_response(
        400,
        f"{param or 'request'}: {first.get('msg', 'invalid request')}",
        param=param,
        code="invalid_request",
    )


async def _http(request: Request, e: Exception) -> JSONResponse:
    assert isinstance(e, HTTPException)
    headers = getattr(e, "headers", None)
    if e.status_code == 405:  # Starlette's Allow names the methods of the path's first route only
        headers = {"allow": ", ".join(_methods(request))}
    code = {
        400: "invalid_request",  # Starlette's own: a malformed multipart body, too many parts
        404: "not_found",
        405: "method_not_allowed",
        413: "request_too_large",
    }.get(e.status_code)
    return error_response(e.status_code, str(e.detail), code=code, headers=headers)


def _methods(request: Request) -> list[str]:
    """Every method the request's path is served with, by whichever of the app's routes (asked of
    each route as the router asks: FastAPI nests included routers)."""
    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes)
    ]


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


# While the database is away (restart, failover) clients are told to come back, not that we broke.
DATABASE_RETRY_AFTER_SECONDS = 2


async def _database_away(_: Request, e: Exception) -> JSONResponse:
    log.warning("database unavailable: %s", type(e).__name__)
    return error_response(
        503,
        "the database is unavailable for a moment; retry after the Retry-After seconds",
        type="server_error",
        code="service_unavailable",
        headers={"retry-after": str(DATABASE_RETRY_AFTER_SECONDS)},
    )


async def _unexpected(_: Request, e: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=e)
    return error_response(500, "internal server error; the server log has the details", code="internal_error")


def install(app: FastAPI) -> None:
    app.add_exception_handler(ZoetropeError, _domain)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(OperationalError, _database_away)
    app.add_exception_handler(PoolTimeout, _database_away)
    app.add_exception_handler(Exception, _unexpected)
