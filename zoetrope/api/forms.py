"""Request bodies that come as JSON or as multipart forms (the `openai` client sends the video
endpoints as multipart, with nested objects written `video[id]`)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from zoetrope.api.errors import error_response
from zoetrope.errors import InvalidRequest, shown
from zoetrope.jobs.request import is_decimal, unicode_text
from zoetrope.settings import get_settings


class BodyTooLarge(InvalidRequest):
    """The request body is over the configured upload cap (ZOETROPE_MAX_UPLOAD_BYTES)."""

    status = 413
    code = "request_too_large"

    @classmethod
    def over(cls, limit: int, field: str | None = None) -> BodyTooLarge:
        """The refusal of a body, or of its file `field`, past `limit` bytes: what the limit is and
        what to do about it."""
        what = field or "the request body"
        mib = f"{limit / 2**20:g} MiB" if limit >= 2**20 else f"{limit:,} bytes"
        return cls(f"{what} is larger than this server's upload limit of {mib} ({limit:,} bytes, set by "
                   "ZOETROPE_MAX_UPLOAD_BYTES): send a smaller file", param=field)


@dataclass
class Body:
    fields: dict[str, object] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)

    def text(self, name: str, *, required: bool = False) -> str | None:
        value = self.fields.get(name)
        if value is None or value == "":
            if required:
                raise InvalidRequest(f"missing required parameter {name!r}", param=name)
            return None
        if isinstance(value, bool):  # JSON's true would read as "True", or as 1
            raise InvalidRequest(f"{name} cannot be {str(value).lower()}: send its value", param=name)
        if isinstance(value, dict | list):
            raise InvalidRequest(f"{name} must be a string", param=name)
        return unicode_text(str(value), name)

    def integer(self, name: str) -> int | None:
        raw = self.fields.get(name)
        if isinstance(raw, float) and raw.is_integer():  # JSON's 4.0 is an integer, as JSON Schema reads it
            return int(raw)
        value = self.text(name)
        if value is None:
            return None
        try:
            if not is_decimal(value, integer=True):  # int() would read "١٢", "４", "1_0" and padding
                raise ValueError
            return int(value)
        except ValueError:  # also more digits than Python reads (4,300)
            raise InvalidRequest(
                f"{name} must be an integer in ASCII digits, like 42, not {shown(value)}", param=name
            ) from None

    def number(self, name: str) -> float | None:
        value = self.text(name)
        if value is None:
            return None
        number = float(value) if is_decimal(value) else math.nan  # float() would read "١٢", "inf", "1_0"
        if not math.isfinite(number):
            raise InvalidRequest(
                f"{name} must be a finite number in ASCII digits, like 0.5, not {shown(value)}", param=name
            )
        return number

    def reference_id(self, name: str) -> str | None:
        """`video={"id": ...}` in JSON, `video[id]=...` in a form, or the id alone (`video="video_..."`)."""
        value = self.fields.get(name)
        if isinstance(value, dict):
            ref = value.get("id")
        elif isinstance(value, str) and value:
            ref = value
        else:
            ref = self.fields.get(f"{name}[id]")
        return unicode_text(str(ref), name) if ref else None

    def source(self, name: str) -> tuple[str | None, bytes | None]:
        """A source video given by id or as an uploaded file (one of them, not both)."""
        ref, upload = self.reference_id(name), self.files.get(name)
        if ref is not None and upload is not None:
            raise InvalidRequest(f"{name} is both an id and an uploaded file: send one of them", param=name)
        return ref, upload


FRAMING = 64 * 1024  # a multipart body's room beyond the cap, for its boundaries and part headers
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


def is_form(content_type: str) -> bool:
    """Whether a Content-Type header names a form; media types are case-insensitive (RFC 9110)."""
    return content_type.split(";", 1)[0].strip().lower() in FORM_TYPES


async def _read_capped(request: Request, limit: int, *, framing: int = 0) -> bytes:
    """The whole body, read until it passes `limit` (+ `framing`) bytes, a 413 then; kept on the
    request, where `request.form()` reads it from."""
    raw = bytearray()
    async for chunk in request.stream():  # stop reading as soon as the cap is passed
        raw += chunk
        if len(raw) > limit + framing:
            raise BodyTooLarge.over(limit)
    request._body = bytes(raw)  # Starlette's cache of the body: request.stream() and form() read it
    return request._body


async def read_body(request: Request) -> Body:
    """The fields and uploaded files of a JSON or multipart request, within the upload limit."""
    limit = get_settings().max_upload_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + FRAMING:
        raise BodyTooLarge.over(limit)
    if is_form(request.headers.get("content-type", "")):
        if not declared.isdigit():
            # A chunked body says nothing of its size up front: read it within the cap first (the form
            # parser then reads it from memory), or its parts could add up to many times the cap.
            await _read_capped(request, limit, framing=FRAMING)
        form = await request.form(max_part_size=limit)
        body = Body()
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                if key in body.files:  # a dict keeps one: the other would be dropped unread
                    raise InvalidRequest(f"{key} was sent as more than one file: send one", param=key)
                if (value.size or 0) > limit:
                    raise BodyTooLarge.over(limit, key)
                body.files[key] = await value.read()
            else:
                body.fields[key] = value
        return body
    raw = await _read_capped(request, limit)
    if not raw:
        return Body()
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: arrays or objects nested too deep to read
        raise InvalidRequest("request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise InvalidRequest("request body must be a JSON object")
    return Body(fields=data)


class BodyLimit:
    """Pure ASGI middleware: the upload cap (ZOETROPE_MAX_UPLOAD_BYTES, with FRAMING more for a form)
    on the body of every POST, PUT and PATCH, whatever reads it (`read_body`, a pydantic model,
    an upload, the studio's forms, MCP). A body whose Content-Length is over it is a 413 unread; a
    chunked one is read until it passes the cap (a 413), and handed to the route from memory."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        headers = {k: v for k, v in scope["headers"] if k in (b"content-length", b"content-type")}
        limit = get_settings().max_upload_bytes
        allowed = limit + (FRAMING if is_form(headers.get(b"content-type", b"").decode("latin-1")) else 0)
        declared = headers.get(b"content-length")
        if declared is not None:  # the server reads no more than it says
            if declared.isdigit() and int(declared) > allowed:
                await _too_large(limit, scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > allowed:
                await _too_large(limit, scope, receive, send)
                return
            more = message.get("more_body", False)
        body, replayed = b"".join(chunks), False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # http.disconnect, when the client goes
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


async def _too_large(limit: int, scope: Scope, receive: Receive, send: Send) -> None:
    error = BodyTooLarge.over(limit)
    response = error_response(error.status, error.message, param=error.param, code=error.code)
    await response(scope, receive, send)
