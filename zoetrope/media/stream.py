"""Writing an MP4 as frames arrive: `Mp4Writer`, so a long video is never whole in memory."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import numpy as np

from zoetrope.errors import InvalidMedia
from zoetrope.media._arrays import pad_to_even, video_frames
from zoetrope.media.decode import DEFAULT_FPS
from zoetrope.media.encode import _BT601, _LIMITED_RANGE, DEFAULT_CRF, DEFAULT_PRESET, _rate, temporary_beside


class Mp4Writer:
    """Context manager writing H.264 MP4 frame chunks as they come, like `write_mp4` in one go.

    The file is written under a temporary name beside `path` and renamed on a clean exit; on an
    exception (or with no frame written) the temporary file is removed and `path` is untouched.
    Each chunk is uint8 (T, H, W, 3) or one (H, W, 3) frame; every chunk has the first one's size.

        with Mp4Writer("out.mp4", fps=8) as mp4:
            for chunk in backend.generate(request):
                mp4.write(chunk)
    """

    def __init__(self, path: str | os.PathLike[str], *, fps: float = DEFAULT_FPS, crf: int = DEFAULT_CRF,
                 preset: str = DEFAULT_PRESET) -> None:
        if not 0 <= crf <= 51:
            raise ValueError(f"crf must be in 0..51, got {crf}")
        self.path = Path(path)
        self.frames = 0  # written so far
        self._rate: Fraction = _rate(fps)
        self._crf, self._preset = crf, preset
        self._tmp = temporary_beside(self.path)
        self._container: av.container.OutputContainer | None = None
        self._stream = None
        self._size: tuple[int, int] | None = None  # (H, W) of the first chunk

    def __enter__(self) -> Mp4Writer:
        os.close(os.open(self._tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        return self

    def write(self, frames: np.ndarray) -> None:
        """Encode these frames after the ones written before."""
        array = video_frames(frames, "frames")
        size = array.shape[1:3]
        if self._size is None:
            self._size = size
            self._open(*pad_to_even(array[:1]).shape[1:3])
        elif size != self._size:
            raise InvalidMedia(f"every chunk must be {self._size[1]}x{self._size[0]}, got {size[1]}x{size[0]}",
                               param="frames")
        assert self._container is not None
        for pixels in pad_to_even(array):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(pixels), format="rgb24")
            self._container.mux(self._stream.encode(frame))
        self.frames += len(array)

    def _open(self, height: int, width: int) -> None:
        self._container = av.open(str(self._tmp), mode="w", format="mp4", options={"movflags": "+faststart"})
        stream = self._container.add_stream("libx264", rate=self._rate,
                                            options={"crf": str(self._crf), "preset": self._preset})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        ctx = stream.codec_context
        ctx.colorspace = ctx.color_primaries = ctx.color_trc = _BT601
        ctx.color_range = _LIMITED_RANGE
        self._stream = stream

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if self._container is not None:
                if kind is None:
                    self._container.mux(self._stream.encode(None))
                self._container.close()
            if kind is None:
                if not self.frames:
                    raise InvalidMedia("no frames were written", param="frames")
                os.replace(self._tmp, self.path)
        finally:
            self._tmp.unlink(missing_ok=True)
