"""Request bodies that come as JSON or as multipart forms (the `openai` client sends the video
endpoints as multipart, with nested objects written `video[id]`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from fastapi import Request
from starlette.datastructures import UploadFile

from zoetrope.errors import InvalidRequest
from zoetrope.jobs.request import unicode_text
from zoetrope.settings import get_settings


class BodyTooLarge(InvalidRequest):
    """The request body is over the configured upload cap (ZOETROPE_MAX_UPLOAD_BYTES)."""

    status = 413
    code = "request_too_large"


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
        value = self.text(name)
        try:
            return None if value is None else int(value)
        except ValueError:
            raise InvalidRequest(f"{name} must be an integer", param=name) from None

    def number(self, name: str) -> float | None:
        value = self.text(name)
        try:
            return None if value is None else float(value)
        except ValueError:
            raise InvalidRequest(f"{name} must be a number", param=name) from None

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


async def _read_capped(request: Request, limit: int, *, framing: int = 0) -> bytes:
    """The whole body, read until it passes `limit` (+ `framing`) bytes, a 413 then; kept on the
    request, where `request.form()` reads it from."""
    raw = bytearray()
    async for chunk in request.stream():  # stop reading as soon as the cap is passed
        raw += chunk
        if len(raw) > limit + framing:
            raise BodyTooLarge(f"request body is larger than {limit} bytes")
    request._body = bytes(raw)  # Starlette's cache of the body: request.stream() and form() read it
    return request._body


async def read_body(request: Request) -> Body:
    """The fields and uploaded files of a JSON or multipart request, within the upload limit."""
    limit = get_settings().max_upload_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + FRAMING:
        raise BodyTooLarge(f"request body is larger than {limit} bytes")
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data") or ctype.startswith("application/x-www-form-urlencoded"):
        if not declared.isdigit():
            # A chunked body says nothing of its size up front: read it within the cap first (the form
            # parser then reads it from memory), or its parts could add up to many times the cap.
            await _read_capped(request, limit, framing=FRAMING)
        form = await request.form(max_part_size=limit)
        body = Body()
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                if (value.size or 0) > limit:
                    raise BodyTooLarge(f"{key} is larger than {limit} bytes", param=key)
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
