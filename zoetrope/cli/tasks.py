"""`zoetrope animate|extend|loop|blend|remix|storyboard|recut`: the creative tasks from the command line.

Each command reads its media, builds one GenerationRequest for the bundled backend (the same call
the API's worker makes) and streams the frames into the MP4 as they are decoded (`media_io`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import typer

from zoetrope.backends.checks import MAX_GUIDANCE, MAX_STEPS, trim_frames
from zoetrope.cli import app
from zoetrope.cli.media_io import check_input, check_output, read_video, release_video
from zoetrope.errors import InvalidRequest, ZoetropeError

STEPS_HELP = f"denoising steps, 1 to {MAX_STEPS} (default: the model's)"

PROMPT_HELP = "what the new footage shows (empty: carry on with what the video shows)"
_SEED = typer.Option(0, min=0, help="random seed (0 or more)")
_STEPS = typer.Option(None, min=1, max=MAX_STEPS, help=STEPS_HELP)
_GUIDANCE = typer.Option(4.0, min=0.0, help=f"classifier-free guidance scale (0 to {MAX_GUIDANCE:g})")
OUTPUT_HELP = "the MP4 to write (replaced if it exists; never one of the inputs)"


def _backend():
    from zoetrope.backends.bundled import BundledBackend

    return BundledBackend()


def native_size(backend, width: int, height: int) -> tuple[int, int]:
    """The model's native size nearest in aspect (then in size) to width x height. Aspects are compared
    by their ratio, as the API's `size_for_source` does: 4:3 is as far from 1:1 as 3:4 is (a difference
    of widths over heights made a 3:4 still vertical and a 4:3 one square)."""
    sizes = backend.capabilities.sizes
    return min(
        sizes, key=lambda s: (round(abs(math.log(s[0] / s[1] * height / width)), 9), abs(s[0] - width))
    )


def _request(backend, frames: np.ndarray, **kw):
    from zoetrope.backends.base import GenerationRequest

    w, h = native_size(backend, frames.shape[2], frames.shape[1])
    return GenerationRequest(width=w, height=h, source=frames, **kw)


def _check(backend, request) -> None:
    """Refuse bad input before the weights load (the API's checks: `_typed` names the fields as typed)."""
    from zoetrope.backends.checks import check_request

    check_request(request, fps=backend.capabilities.fps, max_seconds=backend.capabilities.max_seconds)


# What each command calls the fields its errors name (the request's, the media readers', the prompt
# check's): the option or argument as the user typed it. A name not here is already the command's
# (`--output`) or the storyboard file's (`size`, `cards[1].start`).
_TUNING = {"seed": "--seed", "steps": "--steps", "guidance": "--guidance"}
_ON_VIDEO = {"video": "VIDEO", "prompt": "--prompt", **_TUNING}
TYPED_NAMES: dict[str, dict[str, str]] = {
    "animate": {
        "image": "IMAGE",
        "input_reference": "IMAGE",
        "prompt": "PROMPT",
        "seconds": "--seconds",
        **_TUNING,
    },
    "extend": {**_ON_VIDEO, "seconds": "--seconds"},
    "loop": {**_ON_VIDEO, "seconds": "--seconds"},
    "blend": {**_ON_VIDEO, "video": "A", "video_b": "B", "seconds": "--seconds"},
    "remix": {**_ON_VIDEO, "prompt": "PROMPT", "strength": "--strength", "strength_end": "--strength-end"},
    "recut": {**_ON_VIDEO, "start": "--start", "end": "--end", "extend": "--extend"},
    # the request's prompt is the first card's; `seconds` and `size` are the file's own keys
    "storyboard": {"file": "FILE", "prompt": "cards[0].prompt", **_TUNING},
}


def _typed(command: Callable[..., None]) -> Callable[..., None]:
    """The command, its errors naming each field as it has it (`--strength-end`, `VIDEO`, blend's `A`
    and `B`), not as the request or the API calls it (`strength_end`, `video`, `video_b`)."""
    names = TYPED_NAMES[command.__name__]

    @functools.wraps(command)  # typer reads the wrapped signature: the options stay the command's
    def run(*args, **kwargs) -> None:
        from zoetrope.settings import get_settings

        get_settings()  # a setting the engine cannot take is refused at once, not after torch loads (seconds)
        try:
            command(*args, **kwargs)
        except ZoetropeError as e:
            e.param = names.get(e.param or "", e.param)
            raise

    return run


@app.command()
@_typed
def animate(
    image: Path = typer.Argument(
        ..., help="PNG/JPEG/WebP still: the first frame (any size; fitted to the model)"
    ),
    prompt: str = typer.Argument(..., help="how it moves"),
    seconds: float = typer.Option(4.0, help="duration"),
    seed: int = _SEED,
    steps: int = _STEPS,
    guidance: float = _GUIDANCE,
    output: Path = typer.Option(Path("out.mp4"), "-o", "--output", help=OUTPUT_HELP),
) -> None:
    """Animate a still: the image is frame 0, held clean while the rest is generated.

    Example: zoetrope animate still.png "the ball bounces" --seconds 2 -o bounce.mp4
    """
    from zoetrope.media import read_frames

    check_input(image, "IMAGE", "a still image (PNG, JPEG or WebP)")
    check_output(output, inputs=(image,))
    media = read_frames(image, param="image")
    if media.kind != "image":
        raise InvalidRequest(
            f"{image} is a video; image must be a still (PNG, JPEG or WebP; use `extend` to "
            "continue a video)",
            param="image",
        )
    still = media.frames
    backend = _backend()
    req = _request(
        backend, still, prompt=prompt, task="i2v", seconds=seconds, seed=seed, steps=steps, guidance=guidance
    )
    _check(backend, req)
    release_video(backend, req, output, label="animating", components=(image,))


@app.command()
@_typed
def extend(
    video: Path = typer.Argument(..., help="the MP4 to extend"),
    seconds: float = typer.Option(4.0, help="seconds of new footage"),
    prompt: str = typer.Option("", help=PROMPT_HELP),
    backward: bool = typer.Option(
        False, "--backward", help="add the footage before the clip, leading into it"
    ),
    seed: int = _SEED,
    steps: int = _STEPS,
    guidance: float = _GUIDANCE,
    output: Path = typer.Option(Path("out.mp4"), "-o", "--output", help=OUTPUT_HELP),
) -> None:
    """Extend a video forwards (or --backward); the original footage stays unchanged in the output.

    Example: zoetrope extend clip.mp4 --seconds 2 --prompt "it rolls off the edge" -o longer.mp4
    """
    check_input(video, "VIDEO")
    check_output(output, inputs=(video,))
    backend = _backend()
    frames = read_video(video, backend.capabilities)
    req = _request(
        backend,
        frames,
        prompt=prompt,
        task="extend_backward" if backward else "extend",
        seconds=seconds,
        seed=seed,
        steps=steps,
        guidance=guidance,
    )
    _check(backend, req)
    size = (frames.shape[2], frames.shape[1])
    before, after = ((), [frames]) if backward else ([frames], ())
    release_video(
        backend, req, output, size=size, label="extending", before=before, after=after, parent=video
    )


@app.command()
@_typed
def loop(
    video: Path = typer.Argument(..., help="the MP4 to make loop"),
    seconds: float = typer.Option(1.5, help="seconds of the transition from the end back into the start"),
    prompt: str = typer.Option("", help=PROMPT_HELP),
    seed: int = _SEED,
    steps: int = _STEPS,
    guidance: float = _GUIDANCE,
    output: Path = typer.Option(Path("out.mp4"), "-o", "--output", help=OUTPUT_HELP),
) -> None:
    """Make a video loop: a transition from its end flows back into its start (both ends held).

    Example: zoetrope loop clip.mp4 -o loop.mp4
    """
    check_input(video, "VIDEO")
    check_output(output, inputs=(video,))
    backend = _backend()
    frames = read_video(video, backend.capabilities)
    req = _request(
        backend,
        frames,
        prompt=prompt,
        task="loop",
        seconds=seconds,
        seed=seed,
        steps=steps,
        guidance=guidance,
    )
    _check(backend, req)
    release_video(
        backend,
        req,
        output,
        size=(frames.shape[2], frames.shape[1]),
        label="looping",
        before=[frames],
        parent=video,
    )


@app.command()
@_typed
def blend(
    a: Path = typer.Argument(..., help="the first clip"),
    b: Path = typer.Argument(..., help="the clip to lead into"),
    seconds: float = typer.Option(2.0, help="seconds of the transition"),
    prompt: str = typer.Option("", help="what the transition shows"),
    seed: int = _SEED,
    steps: int = _STEPS,
    guidance: float = _GUIDANCE,
    output: Path = typer.Option(Path("out.mp4"), "-o", "--output", help=OUTPUT_HELP),
) -> None:
    """Join two clips: A, a transition from A's end into B's start, then B.

    Example: zoetrope blend first.mp4 second.mp4 --seconds 1.5 -o joined.mp4
    """
    check_input(a, "A")
    check_input(b, "B")
    check_output(output, inputs=(a, b))
    backend = _backend()
    first, second = read_video(a, backend.capabilities, "A"), read_video(b, backend.capabilities, "B")
    req = _request(
        backend,
        first,
        prompt=prompt,
        task="blend",
        target=second,
        seconds=seconds,
        seed=seed,
        steps=steps,
        guidance=guidance,
    )
    _check(backend, req)
    size = (first.shape[2], first.shape[1])
    if second.shape[1:3] != first.shape[1:3]:  # B is kept at A's size, letterboxed as the model sees it
        from zoetrope.media import fit

        second = fit(second, *size)
    release_video(
        backend,
        req,
        output,
        size=size,
        label="blending",
        before=[first],
        after=[second],
        parent=a,
        components=(b,),
    )


@app.command()
@_typed
def remix(
    video: Path = typer.Argument(..., help="the MP4 to remix"),
    prompt: str = typer.Argument(..., help="the new prompt"),
    strength: float = typer.Option(0.6, help="0 keeps the video, 1 ignores it"),
    strength_end: float = typer.Option(
        None,
        "--strength-end",
        help="the last frame's strength (default: --strength); 1 frees the later frames for a new motion",
    ),
    seed: int = _SEED,
    steps: int = _STEPS,
    guidance: float = _GUIDANCE,
    output: Path = typer.Option(Path("out.mp4"), "-o", "--output", help=OUTPUT_HELP),
) -> None:
    """Remix a video with a new prompt (SDEdit: its latents noised to --strength, then denoised).

    With --strength-end the noise runs from --strength at the first frame to it at the last, so
    a prompt that asks for another motion gets it while the first frame keeps the layout.

    Example: zoetrope remix clip.mp4 "a blue cube slides left" --strength 0.7 -o remixed.mp4
    """
    check_input(video, "VIDEO")
    check_output(output, inputs=(video,))
    backend = _backend()
    frames = read_video(video, backend.capabilities)
    req = _request(
        backend,
        frames,
        prompt=prompt,
        task="remix",
        strength=strength,
        strength_end=strength_end,
        seed=seed,
        steps=steps,
        guidance=guidance,
    )
    _check(backend, req)
    release_video(
        backend, req, output, size=(frames.shape[2], frames.shape[1]), label="remixing", parent=video
    )


@app.command()
@_typed
def recut(
    video: Path = typer.Argument(..., help="the MP4 to cut"),
    start: float = typer.Option(0.0, help="first second kept"),
    end: float = typer.Option(..., help="second where the cut ends"),
    extend_by: float = typer.Option(0.0, "--extend", help="seconds of new footage after the cut"),
    prompt: str = typer.Option("", help=PROMPT_HELP),
    seed: int = _SEED,
    steps: int = _STEPS,
    guidance: float = _GUIDANCE,
    output: Path = typer.Option(Path("out.mp4"), "-o", "--output", help=OUTPUT_HELP),
) -> None:
    """Trim a video to --start..--end (seconds), then optionally --extend it.

    Example: zoetrope recut clip.mp4 --start 0.5 --end 2 --extend 1 -o cut.mp4
    """
    check_input(video, "VIDEO")
    check_output(output, inputs=(video,))
    backend = _backend()
    frames = read_video(video, backend.capabilities)
    req = _request(
        backend,
        frames,
        prompt=prompt,
        task="recut",
        trim=(start, end),
        seconds=extend_by,
        seed=seed,
        steps=steps,
        guidance=guidance,
    )
    _check(backend, req)
    cut = frames[trim_frames(req.trim, backend.capabilities.fps)]
    release_video(
        backend,
        req,
        output,
        size=(frames.shape[2], frames.shape[1]),
        label="recutting",
        before=[cut],
        parent=video,
    )


@app.command()
@_typed
def storyboard(
    file: Path = typer.Argument(
        ..., help="TOML or JSON: seconds, size, and \\[\\[cards]] with prompt, start, image"
    ),
    seed: int = _SEED,
    steps: int = _STEPS,
    guidance: float = _GUIDANCE,
    output: Path = typer.Option(Path("out.mp4"), "-o", "--output", help=OUTPUT_HELP),
) -> None:
    """One video from prompt cards: each segment starts at its card's second and continues the last.

    Example: zoetrope storyboard board.toml -o story.mp4
    """
    from zoetrope.backends.base import GenerationRequest
    from zoetrope.cli.storyboard_file import read_storyboard
    from zoetrope.jobs.sizes import plan_size

    check_input(file, "FILE", "a storyboard file (TOML or JSON)")
    check_output(output, inputs=(file,))
    backend = _backend()
    board = read_storyboard(file)
    check_output(output, inputs=(file, *board.images))  # a card's still is an input too
    # `generate`'s rule: a size of an aspect the model makes, else an error naming `size`
    plan = plan_size("{}x{}".format(*board.size), backend.capabilities, backend.name)
    w, h = plan.native_width, plan.native_height
    req = GenerationRequest(
        prompt=board.cards[0].prompt,
        width=w,
        height=h,
        task="storyboard",
        seconds=board.seconds,
        cards=board.cards,
        seed=seed,
        steps=steps,
        guidance=guidance,
    )
    _check(backend, req)
    release_video(backend, req, output, size=board.size, label="storyboard")
