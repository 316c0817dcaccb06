"""The MCP server: generation as tools, the caller's recent videos as resources, and a
storyboard-writing prompt. The same server runs over stdio (`zoetrope mcp`) and over streamable
HTTP at `/mcp` on `zoetrope serve`; only how a call finds its `Caller` differs."""

import inspect
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Annotated, Literal

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, CallToolResult, TextContent, ToolAnnotations
from pydantic import Field, ValidationError

from zoetrope.config import get_config
from zoetrope.errors import InvalidRequest, ZoetropeError
from zoetrope.jobs.request import VideoRequest
from zoetrope.mcp import videos
from zoetrope.mcp.arguments import argument_error, prompt_problem, undeclared_argument
from zoetrope.mcp.prompts import add_prompts
from zoetrope.mcp.resources import add_resources
from zoetrope.mcp.videos import Caller

Resolve = Callable[[Context], Awaitable[Caller]]

INSTRUCTIONS = (
    "Zoetrope generates short videos and images from text. Generation tools wait for the job and "
    "report progress; a finished result links the file and shows its thumbnail, and `revised_prompt` "
    "holds the words the model read the prompt as, where they differ. Limits (seconds, resolution, "
    "credits) are the caller's plan's; a refusal says which limit and why."
)


def _plan_limits() -> str:
    """One line per video plan, so the schema tells the assistant what a plan allows."""
    plans = [p for p in get_config().plans.values() if p.video and p.max_seconds]
    return "; ".join(f"{p.name or '?'} up to {p.max_seconds:g} s at {p.max_resolution}p" for p in plans)


def _lane_help() -> str:
    """The lanes each video plan lets a request ask for, from the config the server runs."""
    plans = {n: p for n, p in get_config().plans.items() if p.video}
    lanes = "; ".join(f"{n} {'/'.join(p.allowed_lanes())} (default {p.lane})" for n, p in plans.items())
    return f"Queue lane, 'fast' or 'relaxed', if the plan has it (default: the plan's own). Plans: {lanes}."


def _seconds_help() -> str:
    names = {n: p for n, p in get_config().plans.items() if p.video and p.max_seconds}
    limits = ", ".join(f"{n} {p.max_seconds:g} s" for n, p in names.items())
    return (
        f"Duration in seconds (default 4), from one frame (0.125 s at 8 fps); the video holds whole frames "
        f"(1.3 makes 1.25). The plan caps it: {limits}."
    )


_SIZE = (
    "WIDTHxHEIGHT: '1280x720' landscape, '720x1280' vertical (default), '720x720' square. "
    "The plan caps the short side."
)
_MODEL = "Model name, as GET /v1/models lists it (default: the server's default model)."
_WAIT = "Wait for the job (up to 10 minutes) while reporting progress; false returns at once with the id."

Prompt = Annotated[str, Field(min_length=1, max_length=4000, description="What to show, in plain words.")]
_ID = r"^video_[0-9a-f]{32}$"  # every video and image id; a longer string is refused, not echoed back
VideoId = Annotated[str, Field(pattern=_ID, description="An id like video_0123... (32 hex).")]
Size = Annotated[str | None, Field(pattern=r"^\d{2,4}x\d{2,4}$", description=_SIZE)]
ImageSize = Annotated[
    str | None,
    Field(
        pattern=r"^\d{2,4}x\d{2,4}$",
        description="WIDTHxHEIGHT, e.g. '1280x720' or '720x720' (default 1024x1024, or the largest square the "
        "plan allows, as POST /v1/images/generations makes). The plan caps the short side.",
    ),
]
Seed = Annotated[int | None, Field(ge=0, le=2**31 - 1, description="Seed, for a repeatable result.")]
Model = Annotated[str | None, Field(max_length=100, description=_MODEL)]
Wait = Annotated[bool, Field(description=_WAIT)]


class _Server(MCPServer):
    """Arguments that fail a tool's schema come back as one `invalid_request_error` naming each field,
    what it takes (from the schema's description) and what was sent, in place of pydantic's report;
    an unknown tool or prompt, or a prompt's bad arguments, is a protocol error (-32602) naming it."""

    async def call_tool(self, name, arguments, context=None):
        tool = self._tool_manager.get_tool(name)
        if tool is None:
            known = ", ".join(t.name for t in self._tool_manager.list_tools())
            raise MCPError(INVALID_PARAMS, f"unknown tool {name!r}; this server has: {known}")
        fields = tool.parameters.get("properties", {})
        if (refusal := undeclared_argument(name, arguments or {}, fields)) is not None:
            return videos.error_result(refusal)
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as e:
            if not isinstance(e.__cause__, ValidationError):
                raise
            return videos.error_result(argument_error(name, e.__cause__, fields))

    async def get_prompt(self, name, arguments=None, context=None):
        prompt = self._prompt_manager.get_prompt(name)
        known = [p.name for p in self._prompt_manager.list_prompts()]
        declared = None if prompt is None else (prompt.arguments or [])
        if (problem := prompt_problem(name, arguments, declared, known)) is not None:
            raise MCPError(INVALID_PARAMS, problem)
        return await super().get_prompt(name, arguments, context)


class _NamedParams:
    """Params that fail the MCP schema (`arguments` not an object, a tool call without `name`)
    answered as -32602 naming each field and what it takes, where the SDK answers "Invalid request
    parameters" alone. Only the field and pydantic's words are sent, never the value."""

    async def __call__(self, ctx, call_next):
        try:
            return await call_next(ctx)
        except ValidationError as e:
            errors = e.errors(include_url=False)
            if not errors or any(err["loc"][:1] != ("params",) for err in errors):
                raise  # not the request's own params: the SDK's answer stands
            problems = "; ".join(f"{'.'.join(map(str, err['loc']))}: {err['msg']}" for err in errors[:5])
            raise MCPError(INVALID_PARAMS, f"{ctx.method}: {problems}") from None


def build_server(resolve: Resolve) -> MCPServer:
    """The Zoetrope MCP server; `resolve` turns a request's context into the calling `Caller`."""
    seconds_help = _seconds_help()
    # Any length from one frame, as the API takes it (1.3 s makes 1.25 s at 8 fps); the plan caps it.
    Seconds = Annotated[float | None, Field(gt=0, le=60, description=seconds_help)]  # noqa: N806
    Lane = Annotated[Literal["fast", "relaxed"] | None, Field(description=_lane_help())]  # noqa: N806
    mcp = _Server("zoetrope", instructions=INSTRUCTIONS, version="0.1.0")
    mcp._lowlevel_server.middleware.append(_NamedParams())
    writes = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)
    reads = ToolAnnotations(read_only_hint=True, open_world_hint=False)

    async def run(
        ctx: Context,
        req: VideoRequest | Callable[[Caller], Awaitable[VideoRequest]],
        wait: bool,
        reference: str = "input_reference",
    ):
        try:
            caller = await resolve(ctx)
            if not isinstance(req, VideoRequest):
                req = await req(caller)
            job = await videos.submit(caller, req)
            if wait:
                try:
                    job = await videos.wait(caller, job, lambda p, m: ctx.report_progress(p, 100.0, m))
                except anyio.get_cancelled_exc_class():
                    # The client cancelled the call (`notifications/cancelled`, or it closed the
                    # stream): the job it started goes too, as a DELETE would take it, instead of
                    # running on (and being charged) for an answer no one reads. A server that is
                    # stopping cancels its calls too: their jobs stay.
                    if not videos.shutting_down():
                        with (
                            anyio.CancelScope(shield=True),
                            suppress(ZoetropeError),
                        ):  # already gone, or no database
                            await videos.withdraw(caller, job.id)
                    raise
            return await videos.result(caller, job)
        except ZoetropeError as e:
            if e.param == "input_reference":  # the API's name for the image: the tool's argument here
                e.param, e.message = reference, e.message.replace("input_reference", reference)
            return videos.error_result(e)

    @mcp.tool(annotations=writes)
    async def generate_video(
        prompt: Prompt,
        ctx: Context,
        seconds: Seconds = None,
        size: Size = None,
        seed: Seed = None,
        lane: Lane = None,
        model: Model = None,
        wait: Wait = True,
    ) -> CallToolResult:
        """Generate a video from a text prompt. The result links the MP4 and shows its thumbnail.

        Plans, moderation and credits apply as through the API; a blocked prompt is refused with
        its moderation category, a duration over the plan's limit with the plan's reason."""
        # No model: the server's default by its own name, as POST /v1/videos stores it.
        req = VideoRequest(
            prompt=prompt, model=model, seconds=_s(seconds), size=size, task="t2v", seed=seed, lane=lane
        )
        return await run(ctx, req, wait)

    @mcp.tool(annotations=writes)
    async def generate_image(
        prompt: Prompt,
        ctx: Context,
        size: ImageSize = None,
        seed: Seed = None,
        lane: Lane = None,
        model: Model = None,
        wait: Wait = True,
    ) -> CallToolResult:
        """Generate a still image (a one-frame video). The result links the PNG and shows it.

        Its id can be passed to animate_image as image_id."""
        req = VideoRequest(prompt=prompt, model=model, size=size, task="t2i", seed=seed, lane=lane)
        return await run(ctx, req, wait)

    @mcp.tool(annotations=writes)
    async def animate_image(
        prompt: Prompt,
        ctx: Context,
        image_id: Annotated[
            str | None, Field(pattern=_ID, description="Id of an image made with generate_image.")
        ] = None,
        image_base64: Annotated[str | None, Field(description="Or a PNG/JPEG/WebP file, base64.")] = None,
        seconds: Seconds = None,
        size: Size = None,
        seed: Seed = None,
        lane: Lane = None,
        model: Model = None,
        wait: Wait = True,
    ) -> CallToolResult:
        """Animate a still image: it becomes the first frame of a video that follows the prompt."""

        async def build(caller: Caller) -> VideoRequest:
            if (image_id is None) == (image_base64 is None):
                raise InvalidRequest("give exactly one of image_id or image_base64", param="image_id")
            if image_id is not None:
                reference = await videos.image_of(caller, image_id)
            else:
                reference = videos.decode_file(image_base64 or "", param="image_base64")
            return VideoRequest(
                prompt=prompt,
                model=model,
                seconds=_s(seconds),
                size=size,
                task="t2v",
                reference=reference,
                seed=seed,
                lane=lane,
            )

        return await run(ctx, build, wait, "image_id" if image_id is not None else "image_base64")

    @mcp.tool(annotations=writes)
    async def extend_video(
        video_id: VideoId,
        prompt: Prompt,
        ctx: Context,
        seconds: Annotated[
            float | None,
            Field(
                gt=0,
                le=60,
                description="Seconds to add (default 4), in whole steps of half a second (1.3 adds 1.5); "
                "the plan caps the total length.",
            ),
        ] = None,
        seed: Seed = None,
        lane: Lane = None,
        wait: Wait = True,
    ) -> CallToolResult:
        """Continue one of your finished videos forward: the new video holds the old one and the added seconds."""
        req = VideoRequest(
            prompt=prompt,
            seconds=_s(seconds),
            task="extend",
            source_video_id=video_id,
            source_param="video_id",
            seed=seed,
            lane=lane,
        )
        return await run(ctx, req, wait)

    @mcp.tool(annotations=writes)
    async def remix_video(
        video_id: VideoId,
        prompt: Prompt,
        ctx: Context,
        strength: Annotated[
            float | None,
            Field(
                ge=0.05,
                le=1.0,
                description="How far to move from the source: 0.05 barely, 1.0 fully (default: the model's).",
            ),
        ] = None,
        strength_end: Annotated[
            float | None,
            Field(
                ge=0.05,
                le=1.0,
                description="The last frame's strength (default: `strength` throughout). 1.0 lets a new "
                "motion from the prompt take over while the first frame keeps the layout.",
            ),
        ] = None,
        seed: Seed = None,
        lane: Lane = None,
        wait: Wait = True,
    ) -> CallToolResult:
        """Remake one of your finished videos with a new prompt, keeping its timing and layout."""
        req = VideoRequest(
            prompt=prompt,
            task="remix",
            source_video_id=video_id,
            source_param="video_id",
            remix_of=video_id,
            strength=strength,
            strength_end=strength_end,
            seed=seed,
            lane=lane,
        )
        return await run(ctx, req, wait)

    @mcp.tool(annotations=reads)
    async def get_video(
        video_id: VideoId,
        ctx: Context,
        wait: Annotated[bool, Field(description="Wait for it to finish, reporting progress.")] = False,
    ) -> CallToolResult:
        """Status and progress (0-100) of one of your videos; once completed, its link and thumbnail."""
        try:
            caller = await resolve(ctx)
            job = await videos.get(caller, video_id)
            if wait:
                job = await videos.wait(caller, job, lambda p, m: ctx.report_progress(p, 100.0, m))
            return await videos.result(caller, job)
        except ZoetropeError as e:
            return videos.error_result(e)

    @mcp.tool(annotations=reads)
    async def list_videos(
        ctx: Context,
        limit: Annotated[int, Field(ge=1, le=100, description="How many, newest first.")] = 10,
        after: Annotated[
            str | None, Field(pattern=_ID, description="A video id: list the ones before it.")
        ] = None,
    ) -> CallToolResult:
        """Your videos and images, newest first, with status, prompt and links."""
        try:
            page = await videos.list_recent(await resolve(ctx), limit=limit, after=after)
        except ZoetropeError as e:
            return videos.error_result(e)
        lines = [f"{v['id']} {v['status']} {v['seconds']} s {v['size']}: {v['prompt']}" for v in page["data"]]
        text = "\n".join(lines) or (
            f"No videos before {after}: that was the last page." if after else "No videos yet."
        )
        return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=page)

    @mcp.tool(annotations=reads)
    async def verify_media(
        ctx: Context,
        video_id: Annotated[
            str | None, Field(pattern=_ID, description="One of your videos or images.")
        ] = None,
        file_base64: Annotated[str | None, Field(description="Or an MP4/PNG/JPEG/WebP file, base64.")] = None,
    ) -> CallToolResult:
        """Check a file's provenance: its signed C2PA manifest, the invisible watermark, and (if it
        is yours) the generation record they name."""
        try:
            caller = await resolve(ctx)
            if (video_id is None) == (file_base64 is None):
                raise InvalidRequest("give exactly one of video_id or file_base64", param="video_id")
            if video_id is not None:
                report = await videos.verify_video(caller, video_id)
            else:
                report = await videos.verify(
                    caller, videos.decode_file(file_base64 or "", param="file_base64")
                )
        except ZoetropeError as e:
            return videos.error_result(e)
        c2pa, mark = report["c2pa"], report["watermark"]
        text = f"C2PA: {c2pa.get('state')}; watermark found: {mark.get('found')}; record: " + (
            report["record"]["id"] if report["record"] else "none of yours"
        )
        text += "".join(f"; {problem}" for problem in report["problems"])  # why it does not check out
        return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=report)

    add_resources(mcp, resolve)
    add_prompts(mcp, _plan_limits())
    for tool in mcp._tool_manager.list_tools():
        tool.parameters["additionalProperties"] = False  # as `call_tool` refuses an undeclared argument
        tool.description = inspect.cleandoc(tool.description or "")  # a docstring's indent is not text
    return mcp


def _s(seconds: float | None) -> str | None:
    return None if seconds is None else f"{seconds:g}"
