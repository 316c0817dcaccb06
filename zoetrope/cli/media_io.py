"""Files in and out of the generating commands (`generate` and the creative tasks): the paths given
checked before any weights load, a source video read at the model's rate, and the new video
written and released (moderated, marked, signed and recorded).
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import typer

from zoetrope.backends.checks import frames_in, new_footage
from zoetrope.cli.numbers import check_text
from zoetrope.errors import InvalidMedia, InvalidRequest


def write_video(
    backend,
    request,
    out: Path,
    *,
    size: tuple[int, int] | None = None,
    label: str = "generating",
    before: Iterable[np.ndarray] = (),
    after: Iterable[np.ndarray] = (),
    on_chunk: Callable[[np.ndarray], None] | None = None,
) -> int:
    """Stream `before`, the backend's chunks for `request`, then `after` into an MP4 at `size` (default:
    the request's), each chunk handed to `on_chunk` as written; returns the number of frames. Peak
    memory is one chunk, whatever the duration."""
    from rich.progress import BarColumn, TextColumn, TimeElapsedColumn

    from zoetrope.cli import progress_bar
    from zoetrope.media import Mp4Writer, resize

    width, height = size or (request.width, request.height)

    def sized(chunks: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        for chunk in chunks:
            chunk = chunk if chunk.shape[1:3] == (height, width) else resize(chunk, width, height)
            if on_chunk is not None:
                on_chunk(chunk)
            yield chunk

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
    )
    with progress_bar(*columns) as bar, Mp4Writer(out, fps=backend.capabilities.fps) as mp4:
        job = bar.add_task(label, total=100)
        for chunk in sized(before):
            mp4.write(chunk)
        for chunk in sized(backend.generate(request, lambda f, _m: bar.update(job, completed=100 * f))):
            mp4.write(chunk)
        for chunk in sized(after):
            mp4.write(chunk)
        bar.update(job, completed=100)
    # H.264 in yuv420p needs even sides: the writer pads an odd one by a pixel, and says so here.
    padded = f" (padded from {width}x{height})" if width % 2 or height % 2 else ""
    frames = f"{mp4.frames} frame{'' if mp4.frames == 1 else 's'}"
    typer.echo(
        f"wrote {out} ({frames}, {mp4.frames / backend.capabilities.fps:.2f} s, "
        f"{width + width % 2}x{height + height % 2}{padded})"
    )
    return mp4.frames


VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov")  # the ISO media files the writer and the C2PA signer both take


@contextmanager
def writing(out: Path) -> Iterator[None]:
    """Turn the system refusing to write `out` (a full disk, a file size limit) into one error naming
    `-o` and its reason; an OSError about another file (the data directory's) is left as it is."""
    try:
        yield
    except OSError as e:
        named = e.filename if isinstance(e.filename, str | bytes | os.PathLike) else None
        if named is not None and os.path.dirname(os.path.abspath(os.fsdecode(named))) != os.path.abspath(
            out.parent
        ):
            raise
        raise InvalidRequest(
            f"-o {out}: cannot write it ({e.strerror or e}); free some space or choose another place",
            param="--output",
        ) from None


def check_output(
    out: Path, suffixes: tuple[str, ...] = VIDEO_SUFFIXES, inputs: tuple[Path, ...] = ()
) -> None:
    """Refuse an `-o` that could not be written or signed, or that would overwrite one of the command's
    `inputs` (`-o` defaults to out.mp4, the name `generate` writes), before any weights load."""
    try:
        _check_output(out, suffixes, inputs)
    except OSError as e:  # a name too long, a loop of symbolic links: the system's own reason
        raise InvalidRequest(f"-o {out}: {e.strerror or e}; choose another name", param="--output") from None


def _check_output(out: Path, suffixes: tuple[str, ...], inputs: tuple[Path, ...]) -> None:
    if out.is_dir():
        raise InvalidRequest(
            f"-o {out} is a directory; give a file name such as {out / ('out' + suffixes[0])}",
            param="--output",
        )
    if out.name.lower() in suffixes:  # `-o .mp4`: a hidden file with no suffix, not an MP4 with no name
        raise InvalidRequest(
            f"-o {out} has no name before {out.name}; give one such as {out.with_name('out' + out.name)}",
            param="--output",
        )
    if out.suffix.lower() not in suffixes:
        if suffixes == (".png",):  # `generate --seconds 0` and `image`: an -o of a video's name says why not
            raise InvalidRequest(
                f"-o {out} must end in .png: --seconds 0 (as `image`) makes one image, written as a PNG; "
                "for a video, use `generate` with --seconds more than 0",
                param="--output",
            )
        raise InvalidRequest(f"-o {out} must end in {' or '.join(suffixes)}", param="--output")
    for source in inputs:
        if out.exists() and source.exists() and out.resolve() == source.resolve():
            raise InvalidRequest(
                f"-o {out} is the input {source}: writing it would destroy the source; "
                "give another name with -o",
                param="--output",
            )
    if out.parent.exists() and not out.parent.is_dir():
        raise InvalidRequest(
            f"-o {out}: {out.parent} is a file, not a directory; give another path", param="--output"
        )
    if not out.parent.is_dir():
        raise InvalidRequest(
            f"-o {out}: the directory {out.parent} does not exist; create it first", param="--output"
        )
    try:  # the file is written beside its final name, then renamed: the directory must take new files
        with tempfile.NamedTemporaryFile(dir=out.parent, prefix=".zoetrope-", suffix=".probe"):
            pass
    except OSError as e:
        raise InvalidRequest(
            f"-o {out}: cannot write in {out.parent} ({e.strerror or e}); choose another place",
            param="--output",
        ) from None


def check_input(path: Path, param: str, what: str = "a video file (MP4)") -> None:
    """Refuse an input that is not a readable, non-empty regular file, naming it as typed: a pipe or a
    device (/dev/null) would block the read or read as nothing, and the media layer names only the
    last part of a path (`null is empty`)."""
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        raise InvalidMedia(f"{path} does not exist; check the path, or give {what}", param=param) from None
    except OSError as e:  # a loop of symbolic links, a name too long, no permission to look
        raise InvalidMedia(f"{path} cannot be read ({e.strerror or e}); give {what}", param=param) from None
    if stat.S_ISDIR(mode):
        raise InvalidMedia(f"{path} is a directory; give {what}", param=param)
    if not stat.S_ISREG(mode):
        raise InvalidMedia(
            f"{path} is not a regular file (a pipe, socket or device); give {what}", param=param
        )
    if not os.access(path, os.R_OK):
        raise InvalidMedia(f"{path} cannot be read (permission denied); give {what}", param=param)
    if path.stat().st_size == 0:
        raise InvalidMedia(f"{path} is empty (0 bytes); give {what}", param=param)


KEPT_FRAMES = 8  # source frames marked and written at a time


def release_video(
    backend,
    request,
    out: Path,
    *,
    size: tuple[int, int] | None = None,
    label: str = "generating",
    before: Iterable[np.ndarray] = (),
    after: Iterable[np.ndarray] = (),
    parent: Path | None = None,
    components: tuple[Path, ...] = (),
) -> int:
    """Write a generation as `generate` and the API's workers do: its prompts moderated first, every
    frame (the kept source footage too) checked and marked with this generation's invisible
    watermark, the file signed (`c2pa.edited` with `parent` as ingredient when it starts from one,
    `components` the other inputs kept in it) and recorded in the local data directory, so
    `zoetrope verify` finds it. Returns the frames written.

    `before` and `after` are source footage kept as it was, at `size`: of a task whose backend yields
    its source too (loop, blend, recut: `new_footage`), only the new frames are taken from the
    backend, which has the source at the model's size, rescaled."""
    from zoetrope.jobs.finalize import ReleasedBackend, mark_frames, prompt_text, sign
    from zoetrope.jobs.local import record_generation
    from zoetrope.jobs.models import new_video_id
    from zoetrope.jobs.request import MAX_BOARD_CHARS, check_length
    from zoetrope.safety import moderate_frames, moderate_prompt
    from zoetrope.safety.keys import signing_identity

    signing_identity()  # a signing setup that would be refused at the end is refused before any frame
    texts = [
        ("prompt", request.prompt),
        *((f"cards[{i}].prompt", c.prompt) for i, c in enumerate(request.cards)),
    ]
    for param, text in texts:  # the API's limits: the model reads no further, moderation reads every word
        check_text(text, param)
        check_length(text, param)
    if sum(len(card.prompt) for card in request.cards) > MAX_BOARD_CHARS:
        raise InvalidRequest(
            f"the cards' prompts come to {sum(len(c.prompt) for c in request.cards):,} characters, "
            f"over {MAX_BOARD_CHARS:,}; shorten them or use fewer cards",
            param="cards",
        )
    for param, text in texts:
        if text.strip():
            moderate_prompt(text, param=param)
    width, height = size or (request.width, request.height)
    video_id, fps = new_video_id(), backend.capabilities.fps
    released = ReleasedBackend(_Footage(backend, new_footage(request, fps)), video_id, width, height)
    previews: list[np.ndarray] = []  # the first chunk written, then a frame of each later one, for thumbnails

    def shown(chunk: np.ndarray) -> None:
        previews.extend(chunk if not previews else chunk[:1])

    def kept(chunks: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """The source footage released as the new frames are: checked whole (the same sampled frames),
        then marked a few frames at a time, so no second copy of a long source is ever held."""
        for chunk in chunks:
            moderate_frames(
                chunk, prompt=prompt_text(request), depicts_people=backend.capabilities.depicts_people
            )
            for start in range(0, len(chunk), KEPT_FRAMES):
                yield mark_frames(
                    chunk[start : start + KEPT_FRAMES],
                    generation_id=video_id,
                    width=width,
                    height=height,
                    visible_watermark=False,
                )

    with writing(out):
        count = write_video(
            released,
            request,
            out,
            size=(width, height),
            label=label,
            before=kept(before),
            after=kept(after),
            on_chunk=shown,
        )
    try:
        with writing(out):
            sign(out, video_id, backend.name, parent, components=components, task=request.task)
        record_generation(
            video_id,
            out,
            np.stack(previews),
            prompt=prompt_text(request),
            model=backend.name,
            task=request.task,
            seconds=count / fps,
            fps=fps,
        )
    except BaseException:  # a video that is not signed and recorded is not released: none is left at -o
        out.unlink(missing_ok=True)
        raise
    typer.echo(f"recorded as {video_id}")
    return count


class _Footage:
    """A backend that yields only the frames `span` of its output for a request (`new_footage`)."""

    def __init__(self, backend, span: slice) -> None:
        self.backend, self.span, self.name = backend, span, backend.name

    @property
    def capabilities(self):
        return self.backend.capabilities

    def generate(self, request, progress=None):
        chunks = self.backend.generate(request, progress) if progress else self.backend.generate(request)
        return frames_in(chunks, self.span)


def read_video(path: Path, caps, param: str = "video") -> np.ndarray:
    """Frames (T, H, W, 3) of a video file at the model's rate (`media.read_video`: only the frames
    kept are held), less any Zoetrope mark they carry (what a new generation keeps of them gets that
    generation's mark alone), letterboxed into the size the model's nearest aspect takes to hold
    them (`size_for_source`, as the API does) where the model does not make their own aspect."""
    from zoetrope.jobs.sizes import size_for_source
    from zoetrope.media import fit
    from zoetrope.media import read_video as read_at
    from zoetrope.safety.watermark import strip_watermark

    media = read_at(path, caps.fps, param=param)
    if media.kind != "video":
        raise InvalidRequest(
            f"{path} is an image; {param} must be a video (use `animate` for a still)", param=param
        )
    frames = strip_watermark(media.frames)[0]
    width, height = map(int, size_for_source(media.width, media.height, caps).split("x"))
    return frames if (width, height) == (media.width, media.height) else fit(frames, width, height)
