"""The `upstream` backend: a model served by another OpenAI-compatible Videos API.

Zoetrope acts as a gateway: a job is created upstream (POST /videos), polled (GET /videos/{id}),
downloaded (GET /videos/{id}/content) and decoded back to frames, so accounts, plans, credits,
moderation, watermarking and storage stay this server's. Config:

    [[models]]
    name = "relay"
    backend = "upstream"
    options = { base_url = "https://api.openai.com/v1", api_key_env = "OPENAI_API_KEY", model = "sora-2" }
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import httpx
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from zoetrope.backends.base import Cancelled, Capabilities, GenerationRequest, Progress, no_progress
from zoetrope.backends.upstream_http import Connection, RequestCut, open_client
from zoetrope.errors import ConfigError, InvalidMedia, InvalidRequest, ModelUnavailable, UnsupportedByBackend

CHUNK = 16  # frames per yielded chunk
RESUME_KEY = "upstream_video_id"  # what a job notes for its later attempts (GenerationRequest.resume)
MAX_RETRY_AFTER = 60.0  # seconds: the longest an upstream's Retry-After makes one retry wait
CLEANUP_TIMEOUT = 5.0  # seconds: the longest a failed job's upstream video delete may run past its deadline


class UpstreamOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_url: str  # the API root the paths hang off, e.g. https://api.openai.com/v1
    api_key: str | None = None
    api_key_env: str | None = None  # the environment variable holding the key (preferred to api_key)
    model: str = "sora-2"  # the model name sent upstream
    sizes: list[str] = Field(default_factory=lambda: ["1280x720", "720x1280"])
    max_seconds: float = Field(default=12.0, gt=0)
    fps: int = Field(default=24, gt=0)  # the upstream's frame rate (its MP4s are re-encoded at it)
    poll_interval: float = Field(default=2.0, gt=0)
    timeout: float = Field(default=900.0, gt=0)  # the whole upstream job, seconds
    request_timeout: float = Field(default=60.0, gt=0)  # one HTTP request, seconds
    retries: int = Field(default=3, ge=0)  # extra tries after a 5xx, 429 or network error


def _parse_size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ConfigError(f"upstream sizes must look like '1280x720', not {text!r}") from None
    return w, h


def _upstream_message(r: httpx.Response) -> str:
    try:
        error = r.json().get("error") or {}
        message = error.get("message") if isinstance(error, dict) else str(error)
    except (ValueError, AttributeError):
        message = None
    return message or (r.text[:300].strip() or f"HTTP {r.status_code}")


def _retry_after(r: httpx.Response) -> float | None:
    """The seconds a response's Retry-After header asks for (delta-seconds or an HTTP date; waits are
    capped at MAX_RETRY_AFTER where they are made); None when there is no usable header."""
    value = (r.headers.get("retry-after") or "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - time.time()
    if seconds != seconds:  # NaN
        return None
    return max(seconds, 0.0)


def _doing(method: str, path: str) -> str:
    """What a request to the Videos API does, in the user's words."""
    if method == "POST":
        return "creating the video"
    if method == "DELETE":
        return "deleting the video"
    return "downloading the video" if path.endswith("/content") else "checking on the video"


class _Gone(ModelUnavailable):
    """The upstream has no such video (404 or 410 for an id we made)."""


class UpstreamBackend:
    """Backend protocol over a remote Videos API (text to video only)."""

    def __init__(self, **options) -> None:
        try:
            self.options = UpstreamOptions.model_validate(options)
        except ValidationError as e:
            raise ConfigError(f"invalid options for an 'upstream' model: {e}") from e
        self.base_url = self.options.base_url.rstrip("/")
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"upstream base_url {self.base_url!r} is not an http(s) URL")
        self.host = parts.netloc
        self.name = f"upstream:{self.options.model}@{self.host}"
        self._capabilities = Capabilities(
            tasks=("t2v",),
            sizes=tuple(_parse_size(s) for s in self.options.sizes),
            max_seconds=self.options.max_seconds,
            fps=self.options.fps,
            default_steps=1,
            depicts_people=True,
            extra={"upstream": self.base_url, "upstream_model": self.options.model},
        )

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    # --- HTTP -----------------------------------------------------------------------------------

    def _key_setting(self) -> str:
        if self.options.api_key_env:
            return f"the environment variable {self.options.api_key_env} (the model's api_key_env)"
        return "the model's api_key option"

    def _api_key(self) -> str:
        key = os.environ.get(self.options.api_key_env or "") if self.options.api_key_env else None
        key = key or self.options.api_key
        if not key:
            raise ModelUnavailable(f"no key for the upstream {self.host}: set {self._key_setting()}")
        return key

    def check_environment(self) -> None:
        """Nothing, if this process holds the upstream's key; else a ConfigError naming where to set it,
        so a worker refuses to start rather than fail its first job."""
        try:
            self._api_key()
        except ModelUnavailable as e:
            raise ConfigError(e.message, param=self.options.api_key_env) from None

    def _check_destination(self) -> None:
        from zoetrope.jobs.webhooks import refused_destination
        from zoetrope.settings import get_settings

        reason = refused_destination(self.base_url, get_settings().webhook_allowed_networks)
        if reason:
            raise ModelUnavailable(reason.replace("webhook", "upstream", 1))

    def _call(
        self, conn: Connection, method: str, path: str, user_request: bool = False, **kw
    ) -> httpx.Response:
        """One request, retried on 5xx, 429 and network errors (waiting the longer of the backoff and the
        upstream's Retry-After, never past the job's deadline); other failures become ZoetropeErrors. Only a
        request carrying the user's fields (`user_request`, the create) can be the user's mistake: a 4xx for
        anything else (polling or downloading a video we made) is the upstream's or its configuration's fault."""
        failure = ""
        asked = None
        what = f"{method} {path}"
        for attempt in range(self.options.retries + 1):
            if attempt:
                wait = max(min(0.5 * 2 ** (attempt - 1), 8.0), min(asked or 0.0, MAX_RETRY_AFTER))
                if wait > conn.left():
                    raise ModelUnavailable(self._out_of_time(what, failure, asked, wait, conn.left()))
                conn.sleep(wait)
            asked = None
            left = conn.left()
            if left <= 0:
                raise ModelUnavailable(
                    self._no_time_left(what, "could not be made: no time was left", failure)
                )
            try:  # no request runs past the job's deadline, however slowly its answer comes
                r = conn.request(
                    method, self.base_url + path, timeout=min(self.options.request_timeout, left), **kw
                )
            except RequestCut as e:  # still going at the job's deadline, or the job was cancelled
                if e.cancelled:
                    raise Cancelled(conn.job_id) from None
                raise ModelUnavailable(self._cut_off(method, path, left, e.answering, failure)) from None
            except httpx.TimeoutException as e:
                if left < self.options.request_timeout:
                    raise ModelUnavailable(self._cut_off(method, path, left, False, "")) from None
                failure = f"{type(e).__name__}: {e}"
                continue
            except httpx.HTTPError as e:  # connection errors
                failure = f"{type(e).__name__}: {e}"
                continue
            if r.status_code < 400:
                return r
            message = _upstream_message(r)
            if r.status_code in (401, 403):
                raise ModelUnavailable(
                    f"the upstream {self.host} refused the key on {what} (HTTP {r.status_code}: {message}); "
                    f"check {self._key_setting()}"
                )
            if r.status_code == 429 or r.status_code >= 500:
                failure = f"HTTP {r.status_code}: {message}"
                asked = _retry_after(r)
                continue
            if user_request and r.status_code not in (404, 405):
                raise InvalidRequest(f"the upstream {self.host} refused the request: {message}")
            if not user_request and r.status_code in (404, 410):
                raise _Gone(
                    f"the upstream {self.host} no longer has the video this job made ({what}: HTTP "
                    f"{r.status_code}: {message}); check that the model's base_url {self.base_url!r} still "
                    f"points at the server that made it"
                )
            raise ModelUnavailable(
                f"the upstream {self.host} answered {what} with HTTP {r.status_code}: {message}; check the "
                f"model's base_url {self.base_url!r}: it should be the Videos API root, e.g. "
                f"https://api.openai.com/v1"
            )
        raise ModelUnavailable(
            f"the upstream {self.host} is unavailable after {self.options.retries + 1} tries ({failure})"
        )

    def _out_of_time(self, what: str, failure: str, asked: float | None, wait: float, left: float) -> str:
        """Why a retry that would end past the job's deadline is not made, and the setting to raise."""
        if asked is not None and min(asked, MAX_RETRY_AFTER) >= wait:
            why = f"asked for a {asked:.0f} s wait before the next try (Retry-After)"
        else:
            why = f"would be tried again in {wait:g} s"
        return (
            f"the upstream {self.host} answered {what} with {failure} and {why}, but only {max(left, 0.0):.0f} s "
            f"of the model's {self.options.timeout:g} s timeout were left; raise the model's timeout option, or "
            f"ask the upstream at base_url {self.base_url!r} for more capacity"
        )

    def _no_time_left(self, what: str, why: str, failure: str) -> str:
        """Why a request is not made, or was given up, at the job's deadline, and the setting to raise."""
        after = f" (after {failure})" if failure else ""
        return (
            f"{what} to the upstream {self.host} {why} of the model's {self.options.timeout:g} s timeout{after}; "
            f"raise the model's timeout option, or check that the upstream at base_url {self.base_url!r} is "
            f"answering"
        )

    def _cut_off(self, method: str, path: str, left: float, answering: bool, failure: str) -> str:
        """Why a request was ended at the job's deadline (`answering`: its answer had begun to come)."""
        why = "was cut off: its answer was still coming in at the end of" if answering else "got no answer in"
        what = f"{method} {path} ({_doing(method, path)})"
        return self._no_time_left(what, f"{why} the {left:.1f} s that were left", failure)

    def _json(self, r: httpx.Response, what: str) -> dict:
        """The response's JSON object; ModelUnavailable naming `base_url` when it is anything else (an HTML
        page from a wrong path, a proxy's error page, a truncated body)."""
        try:
            body = r.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            snippet = " ".join(r.text[:120].split()) or "an empty body"
            raise ModelUnavailable(
                f"the upstream {self.host} answered {what} with something other than a JSON object ({snippet!r}); "
                f"check the model's base_url {self.base_url!r}: it should be the Videos API root, e.g. "
                f"https://api.openai.com/v1"
            )
        return body

    # --- generation -----------------------------------------------------------------------------

    def generate(self, request: GenerationRequest, progress: Progress = no_progress) -> Iterator[np.ndarray]:
        if request.task != "t2v":
            raise UnsupportedByBackend(f"{self.name} only does t2v, not {request.task!r}")
        if (request.width, request.height) not in self._capabilities.sizes:
            sizes = ", ".join(f"{w}x{h}" for w, h in self._capabilities.sizes)
            raise UnsupportedByBackend(
                f"{self.name} generates {sizes}; got {request.width}x{request.height}", param="size"
            )
        self._check_destination()
        headers = {"authorization": f"Bearer {self._api_key()}"}
        deadline = time.monotonic() + self.options.timeout
        with open_client(
            headers=headers, timeout=self.options.request_timeout, follow_redirects=False
        ) as client:
            data = self._run(Connection(client, deadline, request.stop, request.job_id), request, progress)
        from zoetrope.media import read_frames

        try:
            frames = read_frames(data).frames
        except InvalidMedia as e:
            raise ModelUnavailable(
                f"the upstream {self.host} sent a download that is not a video ({e.message}); check the model's "
                f"base_url {self.base_url!r} and that the upstream's GET /videos/{{id}}/content returns an MP4"
            ) from None
        if frames.shape[1:3] != (request.height, request.width):
            raise ModelUnavailable(
                f"the upstream {self.host} sent {frames.shape[2]}x{frames.shape[1]} video, "
                f"not the {request.width}x{request.height} asked for; check the model's sizes option"
            )
        progress(1.0, "decoded the upstream video")
        for i in range(0, len(frames), CHUNK):
            yield frames[i : i + CHUNK]

    def _run(self, conn: Connection, request: GenerationRequest, progress: Progress) -> bytes:
        """Create the upstream job, wait for it and return its MP4; the job is deleted if we stop."""
        from zoetrope.jobs.sizes import seconds_str

        fields = {
            "prompt": request.prompt,
            "model": self.options.model,
            "size": f"{request.width}x{request.height}",
            "seconds": seconds_str(request.seconds),
        }
        # Multipart, as the official client sends it. The idempotency key makes retried POSTs safe;
        # derived from our job's id, it is the same on the attempt after a worker crash, so the
        # upstream hands back the video it is already making instead of making (and billing) another.
        # Not every upstream honours the key, so the video's id is noted with the job too, and an
        # attempt after a worker crash polls that video rather than creating one.
        video_id = request.resume.get(RESUME_KEY)
        video = self._resumed(conn, video_id) if video_id else None
        fresh = video is None
        if fresh:
            files = {k: (None, v) for k, v in fields.items()}
            key = f"zoetrope-{request.job_id}" if request.job_id else f"zoetrope-{uuid.uuid4().hex}"
            video = self._json(
                self._call(
                    conn,
                    "POST",
                    "/videos",
                    user_request=True,
                    files=files,
                    headers={"idempotency-key": key},
                ),
                "POST /videos",
            )
            video_id = video.get("id")
            if not video_id:
                raise ModelUnavailable(f"the upstream {self.host} answered POST /videos without a video id")
        done = False
        try:
            if fresh and request.note is not None:
                request.note(RESUME_KEY, video_id)
            self._wait(conn, video_id, video, progress)
            data = self._call(conn, "GET", f"/videos/{video_id}/content").content
            done = True
            return data
        finally:
            if not done:  # cancelled, timed out or failed: do not leave the upstream job running
                allowance = min(self.options.request_timeout, max(conn.left(), CLEANUP_TIMEOUT))
                try:  # not cut by the job's cancellation, which is often why it runs
                    conn.request(
                        "DELETE",
                        f"{self.base_url}/videos/{video_id}",
                        until=time.monotonic() + allowance,
                        stoppable=False,
                        timeout=allowance,
                    )
                except (httpx.HTTPError, RequestCut):
                    pass

    def _resumed(self, conn: Connection, video_id: str) -> dict | None:
        """The upstream video an earlier attempt created, as the upstream reports it now; None when
        the upstream no longer has it (deleted, or expired), and a new one must be made."""
        try:
            return self._json(self._call(conn, "GET", f"/videos/{video_id}"), f"GET /videos/{video_id}")
        except _Gone:  # 404 or 410: the video is gone
            return None

    def _wait(self, conn: Connection, video_id: str, video: dict, progress: Progress) -> None:
        while True:
            status = video.get("status")
            try:
                percent = float(video.get("progress") or 0)
            except (TypeError, ValueError):
                percent = 0.0
            progress(
                min(max(percent, 0.0), 100.0) / 100 * 0.9, f"upstream {self.host}: {status} {percent:.0f}%"
            )
            if status == "completed":
                return
            if status == "failed":
                error = video.get("error") or {}
                message = error.get("message") if isinstance(error, dict) else error
                code = error.get("code") if isinstance(error, dict) else None
                raise ModelUnavailable(
                    f"the upstream {self.host} failed video {video_id}"
                    + (f" ({code})" if code else "")
                    + f": {message or 'no reason given'}"
                )
            if conn.left() < 0:
                raise ModelUnavailable(
                    f"the upstream {self.host} did not finish video {video_id} in the model's "
                    f"{self.options.timeout:g} s timeout; raise the model's timeout option"
                )
            conn.sleep(max(0.0, min(self.options.poll_interval, conn.left())))
            video = self._json(self._call(conn, "GET", f"/videos/{video_id}"), f"GET /videos/{video_id}")
