"""What the chat tools do: submit through the same service as `/v1/videos`, wait while reporting
progress, and shape a finished job as a chat assistant sees it (text, link, thumbnail).

Every call goes through `zoetrope.jobs.submit.submit`, so plans, moderation and credits apply
exactly as they do through the REST API.
"""

from __future__ import annotations

import base64
import json
import re
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import anyio
from mcp.types import CallToolResult, ImageContent, ResourceLink, TextContent
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from zoetrope.access.keys import Principal
from zoetrope.api.deps import Services
from zoetrope.api.schemas import Video
from zoetrope.backends.base import revised_prompt
from zoetrope.db import transaction
from zoetrope.errors import InvalidMedia, InvalidRequest, ModerationBlocked, StorageUnavailable, ZoetropeError
from zoetrope.jobs import store
from zoetrope.jobs import submit as submit_service
from zoetrope.jobs.models import COMPLETED, FAILED, IN_PROGRESS, QUEUED, Job
from zoetrope.jobs.request import VideoRequest
from zoetrope.jobs.worker import signal_cancel
from zoetrope.media.sources import sniff
from zoetrope.safety import verify as verify_file
from zoetrope.settings import get_settings

# A tool call waits at most this long for its job; after that it answers with the job's status
# and the assistant follows up with `get_video`.
MAX_WAIT_SECONDS = 600.0
POLL_SECONDS = 0.25

Report = Callable[[float, str], Awaitable[None]]


@dataclass(frozen=True)
class Caller:
    """Who is calling and through what: the app's services, the principal, and the API root that
    links point at (None when no server is known, e.g. stdio with no `--public-url`)."""

    svc: Services
    principal: Principal
    base_url: str | None

    def link(self, job_id: str, variant: str = "video") -> str | None:
        if not self.base_url:
            return None
        query = "" if variant == "video" else f"?variant={variant}"
        return f"{self.base_url.rstrip('/')}/v1/videos/{job_id}/content{query}"


class DatabaseUnavailable(ZoetropeError):
    """The database did not answer (restart, failover): the tool says to call again, as the
    REST API answers 503 with Retry-After."""

    status = 503
    code = "service_unavailable"
    type = "server_error"


async def _in_thread(fn, *args, **kw):
    try:
        return await anyio.to_thread.run_sync(partial(fn, *args, **kw))
    except (OperationalError, PoolTimeout):
        raise DatabaseUnavailable(
            "the database is unavailable for a moment; call this tool again in a few seconds"
        ) from None


def _get_job(caller: Caller, video_id: str) -> Job:
    with transaction(caller.svc.engine) as s:
        return store.get_job(s, caller.principal.account_id, video_id)


async def submit(caller: Caller, req: VideoRequest) -> Job:
    """The queued job for `req`, from the submit service the REST API uses (all its checks)."""
    svc = caller.svc
    return await _in_thread(submit_service.submit, svc.engine, svc.registry, svc.blobs, caller.principal, req)


async def get(caller: Caller, video_id: str) -> Job:
    """The caller's job `video_id`; NotFound for anything else."""
    return await _in_thread(_get_job, caller, video_id)


async def image_of(caller: Caller, video_id: str) -> bytes:
    """The PNG of the caller's completed image job; a video's id is refused by name (its thumbnail is
    a small copy of one frame: animating it would make a video a fraction of the size asked)."""

    def read() -> bytes:
        with transaction(caller.svc.engine) as s:
            job = store.get_completed_job(s, caller.principal.account_id, video_id, param="image_id")
        key = job.outputs.get("image")
        if key is None:
            raise InvalidRequest(
                f"{video_id} is a video, not an image; animate_image takes an image made with generate_image "
                "(or image_base64); to continue a video use extend_video",
                param="image_id",
            )
        return caller.svc.blobs.get(key)

    return await _in_thread(read)


# Whether this process is shutting down: a call cancelled then was cancelled by the server, not by
# its client, so the job it started stays (finished, or back in the queue for the next start).
# `zoetrope serve` points it at its HTTP server's state.
def shutting_down() -> bool:
    return False


async def withdraw(caller: Caller, job_id: str) -> bool:
    """Stop and remove the caller's job `job_id` unless it has finished, as DELETE /v1/videos/{id}
    does (its credits released, a running attempt stopped at its next step, its files removed);
    returns whether it was withdrawn. A finished job stays: its result is kept and listed."""

    def remove() -> bool:
        with transaction(caller.svc.engine, immediate=True) as s:
            if store.get_job(s, caller.principal.account_id, job_id).status not in (QUEUED, IN_PROGRESS):
                return False
            store.delete_job(s, caller.principal.account_id, job_id)
            return True

    if not await _in_thread(remove):
        return False
    signal_cancel(job_id)
    for prefix in (f"videos/{job_id}", f"inputs/{job_id}"):
        with suppress(StorageUnavailable):  # a running attempt's files: its worker removes them too
            await _in_thread(caller.svc.blobs.delete_prefix, prefix)
    return True


async def wait(caller: Caller, job: Job, report: Report, *, timeout: float = MAX_WAIT_SECONDS) -> Job:
    """The job once it finished (or as it stands at `timeout`), reporting each rise of its progress.

    MCP requires each progress notification's value to be above the last: a change of status at
    the same percentage (queued to in progress, both 0) and a retry that starts a job's progress
    over are not reported, and the end is reported only if 100 was not already."""
    deadline = time.monotonic() + timeout
    reported = -1.0

    async def rise(value: float, message: str) -> None:
        nonlocal reported
        if value > reported:
            reported = value
            await report(value, message)

    while job.status in (QUEUED, IN_PROGRESS):
        await rise(float(job.progress), f"{job.status.replace('_', ' ')}: {job.progress}%")
        if time.monotonic() >= deadline:
            return job
        await anyio.sleep(POLL_SECONDS)
        try:
            job = await get(caller, job.id)
        except DatabaseUnavailable:
            # The job goes on without the database's answer for a moment (a restart, a failover):
            # keep polling, and at the deadline answer with its id and last status, never "failed".
            continue
    await rise(100.0, job.status)
    return job


def describe(caller: Caller, job: Job) -> dict:
    """The job as the REST API shows it, plus its download links."""
    out = Video.of(job).model_dump(mode="json")
    if job.status == COMPLETED:
        variant = "image" if job.task == "t2i" else "video"
        out["url"] = caller.link(job.id)
        out["thumbnail_url"] = caller.link(job.id, "thumbnail")
        out["kind"] = variant
    return out


def _summary(job: Job, info: dict) -> str:
    if job.status == COMPLETED:
        what = "Image" if job.task == "t2i" else f"{job.seconds} s video"
        if info.get("url"):
            where = f"Download: {info['url']} (send the same API key as 'Authorization: Bearer ...')."
        else:
            where = "Run `zoetrope serve` (or pass --public-url) for a download link."
        return f"{what} {job.id} ({job.size}) is ready. {where}"
    kind = "Image" if job.task == "t2i" else "Video"
    if job.status == FAILED:
        err = job.error or {}
        return f"{kind} {job.id} failed ({err.get('code', 'error')}): {err.get('message', '')}"
    return (
        f"{kind} {job.id} is {job.status.replace('_', ' ')} ({job.progress}%). "
        f"Call get_video with video_id={job.id!r} to follow it."
    )


def _reading(caller: Caller, job: Job) -> str | None:
    """The words the job's model is given for its prompt where they differ from the typed ones (the
    backend's own reading, as the Images API's `revised_prompt`), else None; None for a model that
    is no longer configured, whose reading is unknown."""
    try:
        backend = caller.svc.registry.backend(job.backend_model)
    except ZoetropeError:
        return None
    return revised_prompt(backend, job.prompt)


async def result(caller: Caller, job: Job) -> CallToolResult:
    """The tool result for `job`: a summary, the video object as JSON, the file link and, when
    finished, the thumbnail as image content. Where the model reads the prompt in other words, they
    come as `revised_prompt` and a sentence, so the assistant can explain the result."""
    info = describe(caller, job)
    text = _summary(job, info)
    if (said := await anyio.to_thread.run_sync(_reading, caller, job)) is not None:
        info["revised_prompt"] = said
        text += f' The model read the prompt as: "{said}".'
    content: list = [TextContent(type="text", text=text)]
    if job.status == COMPLETED:
        thumb = job.outputs.get("thumbnail")
        if thumb:
            data = await _in_thread(caller.svc.blobs.get, thumb)
            content.append(
                ImageContent(type="image", data=base64.b64encode(data).decode(), mime_type="image/webp")
            )
        if info.get("url"):
            mime = "image/png" if job.task == "t2i" else "video/mp4"
            content.append(ResourceLink(type="resource_link", uri=info["url"], name=job.id, mime_type=mime))
    content.append(TextContent(type="text", text=json.dumps(info)))
    return CallToolResult(content=content, structured_content=info, is_error=job.status == FAILED)


def error_result(e: ZoetropeError) -> CallToolResult:
    """A refusal as a tool error: the message, the code, and for moderation the category."""
    error = {"code": e.code, "message": e.message, "param": e.param}
    text = f"{e.code}: {e.message}"
    if isinstance(e, ModerationBlocked):
        error["category"] = e.category
        text += f" [category: {e.category}]"
    if retry_after := getattr(e, "retry_after", None):  # what the API sends as Retry-After
        error["retry_after"] = retry_after
        text += f" [call again in {retry_after} s]"
    return CallToolResult(
        content=[TextContent(type="text", text=text)], structured_content={"error": error}, is_error=True
    )


async def list_recent(caller: Caller, *, limit: int = 20, after: str | None = None) -> dict:
    """A page of the caller's videos, newest first, with links."""

    def read():
        with transaction(caller.svc.engine) as s:
            return store.list_jobs(s, caller.principal.account_id, after=after, limit=limit)

    page = await _in_thread(read)
    return {"data": [describe(caller, j) for j in page.jobs], "has_more": page.has_more}


def decode_file(data_base64: str, *, param: str) -> bytes:
    """Bytes from a base64 argument, or InvalidRequest naming `param`; a file over the API's upload
    limit is refused as an upload is (over stdio no request body limit stands in front of it)."""
    limit = get_settings().max_upload_bytes
    # More text than any file within the limit takes, as base64 wrapped in lines (CRLF each 76) in a data: URL.
    if len(data_base64) > 4 * (limit // 3 + 1) * 78 // 76 + 256:
        raise InvalidMedia(
            f"{param} is over the upload limit of {limit:,} bytes (ZOETROPE_MAX_UPLOAD_BYTES)",
            param=param,
            code="request_too_large",
        )
    data = _base64(data_base64, param)
    if not data:
        raise InvalidRequest(f"{param} is empty", param=param)
    if len(data) > limit:
        raise InvalidMedia(
            f"{param} is {len(data):,} bytes, over the upload limit of {limit:,} bytes (ZOETROPE_MAX_UPLOAD_BYTES)",
            param=param,
            code="request_too_large",
        )
    return data


# A data: URL's head, as a browser's FileReader or an assistant writes one: data:image/png;base64,
_DATA_URL = re.compile(r"data:[^,;]*(?:;[^,;]*)*?;base64,", re.IGNORECASE)
_NOT_BASE64 = re.compile(r"[^A-Za-z0-9+/=\s]")


def _base64(text: str, param: str) -> bytes:
    """The bytes `text` encodes: base64 as MIME wraps it (line breaks), its URL-safe alphabet (- and
    _), its padding left off, or a data: URL holding it, all read; anything else is refused naming
    `param`, what is wrong and where."""
    skipped = 0
    if head := _DATA_URL.match(text):
        skipped, text = head.end(), text[head.end() :]
    elif text[:5].lower() == "data:":
        raise InvalidRequest(
            f"{param} is a data: URL without ';base64,': send the file's bytes base64-encoded", param=param
        )
    text = text.translate(_URL_SAFE)
    if bad := _NOT_BASE64.search(text):
        raise InvalidRequest(
            f"{param} is not base64: {bad.group()!r} at character {skipped + bad.start() + 1} is not one of A-Z, a-z, 0-9, "
            "+, / or = (padding); send the file's bytes base64-encoded",
            param=param,
        )
    text = "".join(text.split())
    if "=" not in text:  # its padding left off, as base64url often is
        text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except ValueError as e:
        raise InvalidRequest(
            f"{param} is not base64 ({e}); send the whole file's bytes base64-encoded", param=param
        ) from None


_URL_SAFE = str.maketrans("-_", "+/")


async def verify(caller: Caller, data: bytes, param: str = "file_base64") -> dict:
    """C2PA and watermark report of `data`, with the generation record if it is the caller's; a file
    that is not readable media is refused naming `param`, the argument it came in."""

    fmt = sniff(data[:16])
    if fmt is None:
        raise InvalidMedia(
            f"{param} is not an MP4, PNG, JPEG or WebP file: send one of those, base64", param=param
        )

    def lookup(ref: str) -> dict | None:
        with transaction(caller.svc.engine) as s:
            return store.generation_record(s, ref, account_id=caller.principal.account_id)

    def run() -> dict:
        with tempfile.TemporaryDirectory(prefix="zoetrope-mcp-verify-") as tmp:
            path = Path(tmp) / f"upload.{ {'jpeg': 'jpg'}.get(fmt, fmt) }"
            path.write_bytes(data)
            try:
                return verify_file(path, lookup).to_json()
            except InvalidMedia as e:  # about the caller's file, not the name of this server's copy
                raise InvalidMedia(e.message.replace(path.name, param), param=param, code=e.code) from None

    return await _in_thread(run)


async def verify_video(caller: Caller, video_id: str) -> dict:
    """The verify report of one of the caller's finished videos or images."""

    def read() -> bytes:
        with transaction(caller.svc.engine) as s:
            job = store.get_completed_job(s, caller.principal.account_id, video_id)
        return caller.svc.blobs.get(job.outputs.get("video") or job.outputs["image"])

    return await verify(caller, await _in_thread(read), "video_id")
