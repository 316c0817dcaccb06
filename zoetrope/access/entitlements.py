"""What a plan allows one request to ask for: duration, resolution, aspect, task, lane, concurrency.

Pure: a plan and a request summary in, an `Entitlement` or a typed refusal out. Every refusal
names the plan, the limit and what to change.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from zoetrope.backends.checks import STEP_FRAMES, trim_how
from zoetrope.config import Config, Plan
from zoetrope.errors import EntitlementExceeded, InvalidRequest, QuotaExceeded

IMAGE_TASKS = ("t2i",)


@dataclass(frozen=True)
class RequestSummary:
    """The parts of a generation request that policy looks at. `seconds == 0` is an image."""

    model: str
    width: int
    height: int
    seconds: float = 4.0
    task: str = "t2v"
    n: int = 1
    lane: str | None = None  # None: the plan's default lane
    # Of `seconds`, what the request adds to a source (an extension, loop, blend, a recut's
    # `extend`): what is generated, so what is charged; None: all of it.
    new_seconds: float | None = None
    # Of `seconds`, the source footage the result keeps (None: `seconds - new_seconds`); given where
    # `new_seconds` may be too large beside it for that difference to say it.
    source_seconds: float | None = None
    # The model's frame rate: with it, what a refusal suggests adding is whole steps of new
    # footage (STEP_FRAMES), as made. None: unknown, the room as it is.
    fps: float | None = None

    @property
    def is_image(self) -> bool:
        return self.seconds == 0 or self.task in IMAGE_TASKS

    @property
    def short_side(self) -> int:
        return min(self.width, self.height)

    @property
    def generated_seconds(self) -> float:
        """The seconds the model generates, of each of the `n`: what credits and quotas count
        (kept source footage is not generated)."""
        return self.seconds if self.new_seconds is None else self.new_seconds

    @property
    def kept_seconds(self) -> float:
        """The seconds of source footage the result keeps."""
        if self.source_seconds is not None:
            return self.source_seconds
        return 0.0 if self.new_seconds is None else self.seconds - self.new_seconds


@dataclass(frozen=True)
class Entitlement:
    """What the plan grants this request: the lane it runs in and whether it is watermarked."""

    lane: str
    watermark: bool


def concurrency_limit(plan: Plan, seats: int = 1) -> int:
    return plan.concurrent_jobs * (max(seats, 1) if plan.per_seat else 1)


def upgrade_hint(config: Config, plan: Plan, allows: Callable[[Plan], bool]) -> str:
    """' or upgrade to pro': the cheapest public plan that allows it, or '' when none does."""
    candidates = [
        p
        for p in config.plans.values()
        if p.video
        and not p.excluded
        and not p.channel
        and p.name != plan.name
        and p.name not in config.eligibility.excluded_plans
        and allows(p)
    ]
    if not candidates:
        return ""
    best = min(candidates, key=lambda p: (p.price_usd if p.price_usd is not None else float("inf"), p.name))
    return f" or upgrade to {best.name}"


def _aspect_ok(aspects: list[str] | None, width: int, height: int) -> bool:
    if not aspects:
        return True
    for a in aspects:
        w, h = (float(x) for x in a.split(":"))
        if abs(width / height - w / h) < 0.01:
            return True
    return False


def _scaled(width: int, height: int, short_side: int) -> str:
    scale = short_side / min(width, height)
    return f"{round(width * scale / 2) * 2}x{round(height * scale / 2) * 2}"


def _example_size(aspect: str, short_side: int) -> str:
    w, h = (float(x) for x in aspect.split(":"))
    scale = short_side / min(w, h)
    return f"{round(w * scale / 2) * 2}x{round(h * scale / 2) * 2}"


def _too_long(plan: Plan, req: RequestSummary) -> tuple[str, str]:
    """What a request longer than `plan.max_seconds` should change, and its field. When the source
    it starts from leaves no room (a remix keeps its length; an extension adds at least a frame, a
    step of STEP_FRAMES at `req.fps`), that is the source video, as no `seconds` would do."""
    limit = plan.max_seconds or 0.0
    head = f"{plan.name} allows up to {limit:g} s"
    if req.task == "remix":  # as long as its source, frame for frame: `seconds` cannot change it
        return (
            f"{head}, and a remix keeps its source's length: the video is {req.seconds:g} s. Trim it to "
            f"{limit:g} s or less first ({trim_how(limit)}) or use a shorter clip",
            "video",
        )
    if req.task == "recut":  # the kept range plus `extend`: the range is what a recut chooses
        room = _room(limit, req.kept_seconds, req.fps)
        if req.new_seconds and room > 1e-6:  # the cut fits: a shorter extension does too
            return f"{head}; the recut would be {req.seconds:g} s: extend at most {room:g} s", "extend"
        return (
            f"{head}; the recut would be {req.seconds:g} s: keep a shorter range between start and end, "
            f"or extend less, to make {limit:g} s or less",
            "end",
        )
    if req.new_seconds is None or req.kept_seconds <= 0:  # `seconds` is the whole video
        return f"{head}; ask for {limit:g} s", "seconds"
    new = req.new_seconds
    source = req.kept_seconds
    room = _room(limit, source, req.fps)
    if room > 1e-6:  # the source fits: less new footage does too
        return f"{head}; the result would be {req.seconds:g} s: add at most {room:g} s", "seconds"
    what = {"loop": "loop", "blend": "blend"}.get(req.task, "extension")
    clips, them = ("the two videos are", "them") if req.task == "blend" else ("the video is", "it")
    together = " together" if req.task == "blend" else ""
    target = limit - new  # the source that leaves room for the footage asked
    if req.fps and target > 0:  # in whole frames, as a recut keeps them
        target = math.floor(target * req.fps + 1e-6) / req.fps
    if target > 1e-6 and req.task == "blend":  # two clips: which to shorten, and how much, is the caller's
        fix = f"Trim {them} to {target:g} s or less together first ({trim_how(None)}) or use shorter clips"
    elif target > 1e-6:
        fix = f"Trim {them} to {target:g} s or less first ({trim_how(target)}) or use a shorter clip"
    else:
        fix = (
            f"Trim {them} first ({trim_how(None)}) and add less: the source{together} and what is added "
            f"must come to {limit:g} s or less"
        )
    return f"{head}, and {clips} already {source:g} s: no {what} fits. {fix}", "video"


def _room(limit: float, source: float, fps: float | None) -> float:
    """The new footage that fits beside `source` within `limit`: with the model's frame rate, whole
    steps of STEP_FRAMES (less than one is no room: what is made is a step at least)."""
    room = limit - source
    if fps and room > 0:
        room = math.floor(room * fps + 1e-6) // STEP_FRAMES * STEP_FRAMES / fps
    return room


def check_request(config: Config, plan: Plan, req: RequestSummary) -> Entitlement:
    """The entitlement for `req` on `plan`, or EntitlementExceeded naming the limit and the fix."""
    if req.width <= 0 or req.height <= 0 or req.seconds < 0 or req.n < 1:
        raise InvalidRequest("size, seconds and n must be positive", param="size")
    who = f"the {plan.name} plan"
    if not plan.video:
        hint = upgrade_hint(config, plan, lambda p: True)
        raise EntitlementExceeded(
            f"{who} has no video or image generation; {hint.removeprefix(' or ')}".rstrip("; "),
            code="generation_not_in_plan",
            param="model",
        )
    if req.is_image:
        if plan.images == "none":
            hint = upgrade_hint(config, plan, lambda p: p.images != "none")
            raise EntitlementExceeded(
                f"{who} does not include image generation; ask for a video{hint}",
                code="images_not_in_plan",
                param="model",
            )
    if plan.tasks is not None and req.task not in plan.tasks:
        hint = upgrade_hint(config, plan, lambda p: p.tasks is None or req.task in p.tasks)
        if req.task == "i2v":  # the request asked for it by sending an image to animate
            raise EntitlementExceeded(
                f"{who} allows only {', '.join(plan.tasks)}, not i2v (animating an input_reference); "
                f"leave input_reference out{hint}",
                code="task_not_in_plan",
                param="input_reference",
            )
        raise EntitlementExceeded(
            f"{who} allows only {', '.join(plan.tasks)}, not {req.task}; ask for {plan.tasks[0]}{hint}",
            code="task_not_in_plan",
            param="task",
        )
    if not req.is_image and plan.max_seconds is not None and req.seconds > plan.max_seconds:
        hint = upgrade_hint(config, plan, lambda p: p.max_seconds is None or p.max_seconds >= req.seconds)
        message, param = _too_long(plan, req)
        raise EntitlementExceeded(f"{message}{hint}", code="duration_exceeds_plan", param=param)
    if plan.max_resolution is not None and req.short_side > plan.max_resolution:
        hint = upgrade_hint(
            config, plan, lambda p: p.max_resolution is None or p.max_resolution >= req.short_side
        )
        raise EntitlementExceeded(
            f"{plan.name} allows up to {plan.max_resolution}p; ask for "
            f"{_scaled(req.width, req.height, plan.max_resolution)} or smaller{hint}",
            code="resolution_exceeds_plan",
            param="size",
        )
    if not _aspect_ok(plan.aspects, req.width, req.height):
        hint = upgrade_hint(config, plan, lambda p: _aspect_ok(p.aspects, req.width, req.height))
        shapes = " or ".join(plan.aspects or [])
        example = (
            _example_size(plan.aspects[0], plan.max_resolution or req.short_side) if plan.aspects else ""
        )
        raise EntitlementExceeded(
            f"{plan.name} allows only {shapes} video; ask for {example}{hint}",
            code="aspect_not_in_plan",
            param="size",
        )
    lane = req.lane or plan.lane
    if lane not in plan.allowed_lanes():
        hint = upgrade_hint(config, plan, lambda p: lane in p.allowed_lanes())
        raise EntitlementExceeded(
            f"{plan.name} runs in the {' or '.join(plan.allowed_lanes())} lane, not {lane}; "
            f"ask for {plan.lane}{hint}",
            code="lane_not_in_plan",
            param="lane",
        )
    return Entitlement(lane=lane, watermark=not plan.watermark_free)


def check_concurrency(config: Config, plan: Plan, active: int, seats: int = 1) -> None:
    """Refuse (429) when `active` unfinished jobs already fill the plan's concurrency."""
    limit = concurrency_limit(plan, seats)
    if active >= limit:
        hint = upgrade_hint(config, plan, lambda p: p.concurrent_jobs > plan.concurrent_jobs)
        raise QuotaExceeded(
            f"{plan.name} allows {limit} concurrent job{'s' if limit != 1 else ''} and {active} "
            f"{'is' if active == 1 else 'are'} running; wait for one to finish{hint}",
            retry_after=10,
            code="concurrency_limit_exceeded",
        )
