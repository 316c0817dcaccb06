"""An invisible watermark in every frame that survives re-encoding, resizing and cropping.

Design (spread spectrum over the whole frame, at frequencies relative to the frame):
- The mark is a sum of sinusoids of 6..13 cycles per frame height and width (Chebyshev radius: the
  "wide" design; small frames get the "low" one, below), the same in every frame, added to luma.
  Defined relative to the frame, it has no size of its own: a resize of any factor or aspect
  leaves every sinusoid where it was, so a half-size copy is read like the original. The band is a
  trade: lower frequencies are drowned by the picture (its energy falls as 1/k), higher ones are
  the first that shrinking and H.264 remove.
- The frequency bins (half of the spectrum; the other half is its conjugate) are split, by a
  fixed key, between a synchronisation template and the payload: 32 bits of the generation id
  plus a CRC-16 under a rate-1/3 convolutional code (`convcode`). Each payload bin carries two
  coded bits, as the signs of its real and imaginary parts after a keyed phase. Bins on the
  axes (ky or kx = 0) are left out: a picture's gradients and its borders pile energy there.
- The mark is the same in every frame, so the detector first averages luma over time (moving
  content averages out, the mark adds up). A crop keeps a window of the marked frame: the
  sinusoids are then k * kept cycles per observed frame, with a phase set by where the window
  starts. The detector evaluates the spectrum at those frequencies for a grid of kept fractions
  per axis, finds the window's offset as the peak of a phase-only correlation with the
  template, reads the payload there with soft-decision list Viterbi, and accepts it only when
  the CRC holds and the sync peak stands clear of the correlation noise. An uncut copy (any
  resize) is tried first, at the whole frame and offset 0: one point rather than the best of a
  search, so it takes a lower bar (Z_UNCROPPED).
- Frames up to 64 px on the shorter side get a second design, "low": its own keyed layout of
  3..8 cycles per frame at 6.0 RMS. Halved, such a frame is 32 px, where 6..13 cycles are 2.5 to
  5 pixels a period: H.264 at CRF 28 quantizes those away wherever the picture has edges or
  motion (a mark on a flat frame survives it), and only one to two clips in three were read.
  Coarser sinusoids sit in the low DCT coefficients the encoder keeps. The picture has more of
  its own energy there, so this design is read from luma less its blur (a Gaussian of 1/24 of
  the frame): that takes the leakage of gradients out of the bins. What edges leave after that
  (a moving object's outline: tens of levels in a few pixels, where the mark is a few levels
  everywhere) is clipped to the residual's own spread, frame by frame, before the frames are
  averaged: of 200 64 px clips of 16 frames, halved and re-encoded at CRF 28, 182 were then
  read, not 152. Files marked before carry the "wide" design (at 4.2, or 5.5 on small frames): the
  detector reads both.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache, lru_cache
from typing import Literal

import numpy as np

from zoetrope.safety import convcode
from zoetrope.safety.convcode import PAYLOAD_BITS
from zoetrope.safety.luma import CHUNK as _CHUNK
from zoetrope.safety.luma import evidence as _evidence
from zoetrope.safety.luma import low_reading as _low_reading
from zoetrope.safety.luma import mean_luma as _mean_luma

Design = Literal["wide", "low"]
Reading = Callable[[], np.ndarray]  # a picture to read a design from, made when first asked for
_KEY = b"zoetrope-watermark-v2"
_LOW_KEY = b"zoetrope-watermark-v3-low"
# Each design's band (cycles per frame, Chebyshev radius) and the key of its layout.
_DESIGNS: dict[str, tuple[tuple[int, int], bytes]] = {"wide": ((6, 13), _KEY), "low": ((3, 8), _LOW_KEY)}
STRENGTH = 4.2  # luma RMS of the mark, in 0..255 levels
# The wide design on frames up to 64 px, as marked before the low design: halved, at 4.2 only one
# in ten was read after a half-size CRF 28 copy. Files marked so still verify and strip.
SMALL_STRENGTH = 5.5
# The low design's strength, on frames whose shorter side is at most _SMALL_SIDE: PSNR 32.7 dB
# (33.4 at 5.5 before); halved 64 px clips after CRF 28 were read about as often at 5.5 to 6.2.
LOW_STRENGTH = 6.0
_SMALL_SIDE = 64
_RELEASED_GAIN = 0.92  # of the mark's amplitude that a CRF 18 release keeps (64 px clips, 4.2 and 5.5)
_SYNC_SHARE = 0.3  # of the bins; the rest carry the coded payload
_GRID = 64  # the offset search's resolution: 1/64 of the frame
_KEPT = np.linspace(0.78, 1.0, 12)  # fractions of the marked frame a crop may keep, per axis
_FINE = np.linspace(-0.01, 0.01, 5)  # refinement around the best coarse fractions
_SUBPIXEL = np.linspace(-0.5, 0.5, 9)  # offset refinement, in grid steps
# Sync peak height, in noise standard deviations, worth decoding a wide payload at. On clean clips the
# highest peak is 4.8 deviations at the median and reaches 5.8 in about one clip in a hundred or
# fewer (32 to 128 px; at 5.0, one in five): only then is a payload read, which the CRC then guards
# (one in 4,096 reads of noise passes, the decoder trying its 16 best candidates). Marked clips after CRF 28, halving or a 10 % crop peaked at 6.1 or more (but for
# halved 64 px clips, which the uncut read below finds, when anything does, from 4 up).
Z_FOUND = 5.8
# The same for the low design: its template has fewer, coarser bins, so noise peaks stand lower.
# Read from clipped frames (`_low_reading`), on 600 clean 64 px clips of 16 and 32 frames its highest
# peak was 4.4 at the median and 5.5 at most (4.2 and 5.3 read from the averaged luma unclipped);
# low-marked 64 px clips cut by 10 % and re-encoded at CRF 28 peaked at 6.1 or more (4.8 before
# the clipping, when the bar was 5.4).
Z_FOUND_LOW = 5.7
SEARCH_BARS: dict[str, float] = {"wide": Z_FOUND, "low": Z_FOUND_LOW}
# The bar where the mark would be in an uncut copy (the whole frame at offset 0: any resize of the
# marked frame lands there), tested first. It is one point, not the best of a search: on 300 clean
# clips its height was 0 at the mean, 0.9 deviations apart, 2.8 at most (3.1 over the bench's 1,200).
Z_UNCROPPED = 4.0


@dataclass(frozen=True)
class WatermarkResult:
    """Whether a Zoetrope mark is in the frames, its payload (hex) and how sure the decoder is."""

    found: bool
    payload: str | None
    confidence: float  # 0..1
    kept: tuple[float, float] | None = None  # fraction of the marked frame's height, width in view
    z: float = 0.0  # sync peak height in noise standard deviations
    z_uncropped: float = 0.0  # the sync surface's height at the uncut position (whole frame, offset 0)
    design: Design | None = None  # which design the payload was read in (the clearest one if none)
    reads: int = 0  # payloads decoded and checked against the CRC on the way (each a chance for noise)

    def to_json(self) -> dict:
        return {"found": self.found, "payload": self.payload, "confidence": round(self.confidence, 4)}


@dataclass(frozen=True)
class _Layout:
    """The keyed assignment of frequency bins: (ky, kx) arrays and phases of sync and payload bins."""

    k: int  # the band's top: bins are (0..k, -k..k)
    sync: np.ndarray  # (S, 2)
    sync_phase: np.ndarray  # (S,)
    data: np.ndarray  # (D, 2)
    data_phase: np.ndarray  # (D,)
    owner: np.ndarray  # (2D,) the coded bit carried by each bin's real, then imaginary part


@lru_cache(maxsize=2)
def _layout(design: Design = "wide") -> _Layout:
    (low, k), key = _DESIGNS[design]
    rng = np.random.default_rng(int.from_bytes(hashlib.sha256(key).digest()[:8], "little"))
    bins = [(ky, kx) for ky in range(1, k + 1) for kx in range(-k, k + 1)
            if kx != 0 and max(ky, abs(kx)) >= low]  # fmt: skip
    order = rng.permutation(len(bins))
    n_sync = round(len(bins) * _SYNC_SHARE)
    sync = np.array([bins[i] for i in order[:n_sync]])
    data = np.array([bins[i] for i in order[n_sync:]])
    phases = rng.uniform(0, 2 * np.pi, len(bins))
    # Coded bits go to bin parts in a keyed order, spreading each bit's neighbours over the band;
    # there are more parts than coded bits (wide: 404 for 162), so every bit is sent two or three
    # times (low: 168, once, a few twice).
    slots = 2 * len(data)
    owner = rng.permutation(np.arange(slots) % convcode.CODED_BITS)
    return _Layout(k, sync, phases[:n_sync], data, phases[n_sync:], owner)


def payload_for(generation_id: str) -> bytes:
    """The 32-bit payload that stands for a generation id (its SHA-256, first 4 bytes)."""
    return hashlib.sha256(generation_id.encode()).digest()[: PAYLOAD_BITS // 8]


def _payload_bytes(payload: bytes | str) -> bytes:
    if isinstance(payload, str):
        try:
            raw = bytes.fromhex(payload)
            if len(raw) == PAYLOAD_BITS // 8:
                return raw
        except ValueError:
            pass
        return payload_for(payload)
    if len(payload) != PAYLOAD_BITS // 8:
        return hashlib.sha256(payload).digest()[: PAYLOAD_BITS // 8]
    return payload


def _waves(k: np.ndarray, n: int) -> np.ndarray:
    """exp(2πi k (p + 1/2) / n) for (fractional) cycles per frame `k` over pixel centres p: (len(k), n)."""
    return np.exp(2j * np.pi * np.outer(k, (np.arange(n) + 0.5) / n))


@lru_cache(maxsize=8)
def _mark(h: int, w: int, payload: bytes, design: Design = "wide") -> np.ndarray:
    """The (h, w) float pattern for `payload` in `design`, with unit RMS."""
    lay = _layout(design)
    k = lay.k
    coeffs = np.zeros((k + 1, 2 * k + 1), complex)  # (ky, kx + k)
    coeffs[lay.sync[:, 0], lay.sync[:, 1] + k] = np.exp(1j * lay.sync_phase)
    signs = 1.0 - 2 * convcode.encode(payload)[lay.owner].reshape(2, -1, order="F")  # (2, D)
    symbols = (signs[0] + 1j * signs[1]) / np.sqrt(2)
    coeffs[lay.data[:, 0], lay.data[:, 1] + k] = symbols * np.exp(1j * lay.data_phase)
    mark = (_waves(np.arange(k + 1), h).T @ coeffs @ _waves(np.arange(-k, k + 1), w)).real  # (h, w)
    return mark / mark.std()


def design_for(h: int, w: int) -> Design:
    """The design frames of `h` x `w` pixels are marked in: low up to a 64 px short side, else wide."""
    return "low" if min(h, w) <= _SMALL_SIDE else "wide"


def strength_for(h: int, w: int) -> float:
    """The mark's luma RMS for frames of `h` x `w` pixels: LOW_STRENGTH up to a 64 px short side."""
    return LOW_STRENGTH if design_for(h, w) == "low" else STRENGTH


def embed_watermark(
    frames: np.ndarray, payload: bytes | str, *, strength: float | None = None, design: Design | None = None
) -> np.ndarray:
    """A copy of `frames` (uint8 (T, H, W, 3) or (H, W, 3)) with the mark added to every frame.

    `payload` is 4 bytes, 8 hex digits, or any other text/bytes (a generation id), which is
    hashed to 4 bytes with `payload_for`. `detect_watermark` returns it as 8 hex digits.
    `design` defaults to `design_for` the frame size, `strength` to that design's (STRENGTH for
    wide, LOW_STRENGTH for low).
    """
    stack = frames if frames.ndim == 4 else frames[None]
    h, w = stack.shape[1:3]
    design = design_for(h, w) if design is None else design
    if design not in _DESIGNS:
        raise ValueError(f"design must be one of {', '.join(_DESIGNS)}, got {design!r}")
    if strength is None:
        strength = LOW_STRENGTH if design == "low" else STRENGTH
    # Pixels are integers, so rounding the mark first is the same sum.
    pattern = _mark(h, w, _payload_bytes(payload), design)
    out = _shifted(stack, np.round(pattern * strength).astype(np.int16))
    return out if frames.ndim == 4 else out[0]


def _shifted(stack: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """uint8 frames (T, H, W, 3) plus an int16 (H, W) added to every channel, clipped to 0..255."""
    out = np.empty_like(stack)
    for at in range(0, len(stack), _CHUNK):
        chunk = stack[at : at + _CHUNK].astype(np.int16)
        chunk += shift[None, :, :, None]
        out[at : at + _CHUNK] = np.clip(chunk, 0, 255, out=chunk)
    return out


def strip_watermark(frames: np.ndarray) -> tuple[np.ndarray, str | None]:
    """`frames` (uint8 (T, H, W, 3)) less the Zoetrope mark they carry, and its payload (hex); the
    frames as they were, and None, when no mark is found over the whole frame (a cropped copy's
    mark is not where this frame size puts it). Footage kept in a new generation (an extension's
    source, a re-cut) is stripped first, so the new mark is the only one: two payloads in the same
    bins would garble each other."""
    found = detect_watermark(frames)
    if not found.found or found.kept is None or min(found.kept) < 0.99:
        return frames, None
    h, w = frames.shape[1:3]
    design = found.design or "wide"
    pattern = _mark(h, w, bytes.fromhex(found.payload), design)
    strength = LOW_STRENGTH if design == "low" else _strength_in(frames, pattern)
    mark = np.round(pattern * strength).astype(np.int16)
    return _shifted(frames, -mark), found.payload


def _strength_in(frames: np.ndarray, pattern: np.ndarray) -> float:
    """Which of the strengths a wide mark is made at (STRENGTH in every file from before
    SMALL_STRENGTH, which small files got until the low design) `frames` carry `pattern` at, judged
    by its least-squares amplitude.

    The frame size alone does not say: a 64 px file may be from before, or marked at another size
    and resized. The amplitude reads low by the picture's own share of the pattern (about 0.2-0.3
    levels either way) and by what the release encode takes (CRF 18 keeps about 0.92 of the mark),
    so it is compared with each strength as it reads in a released file.
    """
    amplitude = float((_mean_luma(frames) * pattern).mean())  # the pattern has unit RMS and no mean
    return min((STRENGTH, SMALL_STRENGTH), key=lambda s: abs(_RELEASED_GAIN * s - amplitude))


def _readings(frames: np.ndarray, box: tuple[int, int, int, int] | None = None) -> tuple[np.ndarray, Reading]:
    """What each design is read from in uint8 frames (T, H, W, 3) or (H, W, 3), within `box` (top,
    bottom, left, right lines left out) if given: the wide design from the time-averaged luma
    (`_evidence`), the low design from `_low_reading`, made only when asked for (a copy of a
    wide-marked frame is mostly read before)."""
    stack = frames if frames.ndim == 4 else frames[None]
    top, bottom, left, right = box or (0, 0, 0, 0)
    stack = stack[:, top : stack.shape[1] - bottom, left : stack.shape[2] - right]
    return _evidence(_mean_luma(stack)), cache(lambda: _low_reading(stack))


def _spectra(evidence: np.ndarray, kept_y: np.ndarray, kept_x: np.ndarray, k: int) -> np.ndarray:
    """The picture's whitened spectrum at a design's frequencies (band top `k`) if a crop kept
    `kept_y` x `kept_x` of the marked frame: (len(kept_y), len(kept_x), k + 1, 2k + 1), each bin
    reduced to its phase.
    """
    h, w = evidence.shape
    ky, kx = np.arange(k + 1), np.arange(-k, k + 1)
    rows = np.conj(_waves(np.outer(kept_y, ky).ravel(), h))  # (Ny * (K+1), h)
    cols = np.conj(_waves(np.outer(kept_x, kx).ravel(), w))  # (Nx * (2K+1), w)
    # einsum rather than BLAS: these products are small, and threaded BLAS on a busy machine is
    # many times slower than one core.
    spectrum = np.einsum("kw,jw->kj", np.einsum("kh,hw->kw", rows, evidence), cols)  # (Ny*(K+1), Nx*(2K+1))
    spectrum = spectrum.reshape(len(kept_y), k + 1, len(kept_x), 2 * k + 1).transpose(0, 2, 1, 3)
    return spectrum / np.maximum(np.abs(spectrum), 1e-9)


def _sync_surfaces(spectra: np.ndarray, lay: _Layout) -> np.ndarray:
    """The template's correlation with (N, k+1, 2k+1) spectra over every offset on the grid: (N, G, G)."""
    # The half spectrum is ky >= 0, so a real inverse FFT over (kx, ky) adds each bin's conjugate.
    canvas = np.zeros((len(spectra), _GRID, _GRID // 2 + 1), complex)
    coeffs = spectra[:, lay.sync[:, 0], lay.sync[:, 1] + lay.k] * np.exp(-1j * lay.sync_phase)  # (N, S)
    canvas[:, lay.sync[:, 1] % _GRID, lay.sync[:, 0]] = coeffs
    surfaces = np.fft.irfft2(canvas, s=(_GRID, _GRID)) * _GRID * _GRID  # (N, x offset, y offset)
    return surfaces.transpose(0, 2, 1)


def _z_scores(surfaces: np.ndarray) -> np.ndarray:
    """Each surface's peak height in its own standard deviations: (N,)."""
    flat = surfaces.reshape(len(surfaces), -1)
    return (flat.max(1) - flat.mean(1)) / (flat.std(1) + 1e-9)


def _refined_offset(spectrum: np.ndarray, surface: np.ndarray, lay: _Layout) -> tuple[float, float, float]:
    """(z, dy, dx): the surface's peak, refined to 1/8 grid step."""
    coeffs = spectrum[lay.sync[:, 0], lay.sync[:, 1] + lay.k] * np.exp(-1j * lay.sync_phase)  # (S,)
    mean, std = surface.mean(), surface.std() + 1e-9
    y, x = np.unravel_index(int(surface.argmax()), surface.shape)
    fy, fx = y + _SUBPIXEL[:, None], x + _SUBPIXEL[None, :]  # (9, 9) candidate offsets
    phase = 2 * np.pi * (lay.sync[:, 0, None, None] * fy + lay.sync[:, 1, None, None] * fx) / _GRID
    fine = 2 * (coeffs[:, None, None] * np.exp(1j * phase)).real.sum(0)  # (9, 9)
    i, j = np.unravel_index(int(fine.argmax()), fine.shape)
    return float((max(fine[i, j], surface[y, x]) - mean) / std), float(fy[i, 0]), float(fx[0, j])


def _soft_bits(spectrum: np.ndarray, dy: float, dx: float, lay: _Layout) -> np.ndarray:
    """Soft values of the coded bits at offset (dy, dx): > 0 means 0, 0 means unknown."""
    shift = np.exp(2j * np.pi * (lay.data[:, 0] * dy + lay.data[:, 1] * dx) / _GRID)
    symbols = spectrum[lay.data[:, 0], lay.data[:, 1] + lay.k] * shift * np.exp(-1j * lay.data_phase)  # (D,)
    parts = np.stack([symbols.real, symbols.imag], 1).ravel()  # (2D,) in the order of `owner`
    return np.bincount(lay.owner, parts, convcode.CODED_BITS)


def _read(
    spectrum: np.ndarray, z: float, dy: float, dx: float, bar: float, lay: _Layout
) -> tuple[str, float] | None:
    """The payload (hex) at offset (dy, dx) of a spectrum whose sync peak is `z` over `bar`, and the
    decoder's confidence; None if no candidate's CRC holds."""
    soft = _soft_bits(spectrum, dy, dx, lay)
    payload = convcode.decode(soft)
    if payload is None:
        return None
    # How well the decoded codeword fits what was read, in noise standard deviations.
    margin = float((soft * (1 - 2 * convcode.encode(payload))).mean() / (soft.std() + 1e-9))
    return payload.hex(), float(1 - np.exp(-(z - bar + 1) * min(max(margin, 0.1), 3.0) / 2))


def detect_watermark(frames: np.ndarray, *, candidates: int = 6) -> WatermarkResult:
    """Look for a Zoetrope mark in `frames` (uint8 (T, H, W, 3) or (H, W, 3)) at any size and crop."""
    return _detect(*_readings(frames), candidates)


def find_watermark(frames: np.ndarray) -> WatermarkResult:
    """`detect_watermark`, also in the ways a copy may have been turned, mirrored or framed: each
    quarter turn of the pictures and of their mirror image (so a flip either way and a transpose
    too), and the pictures less uniform bars along their edges (a letterbox or pillarbox added
    around them). The first reading found, else the clearest. Each try is another chance for
    noise to pass the CRC: a clean clip is searched up to 16 times (in both designs), not once."""
    # Inside the bars first: a marked picture is nowhere flat, so bars say the copy was framed.
    boxes = [box, None] if (box := _bars(_mean_luma(frames))) is not None else [None]
    best: WatermarkResult | None = None
    for box in boxes:
        wide, low = _readings(frames, box)
        for flip in (False, True):
            for turns in (0, 1, 3, 2):
                turned = cache(lambda low=low, f=flip, t=turns: _turned(low(), f, t))
                found = _detect(_turned(wide, flip, turns), turned)
                if found.found:
                    return found
                best = found if best is None or found.z > best.z else best
    assert best is not None
    return best


def _turned(picture: np.ndarray, mirrored: bool, turns: int) -> np.ndarray:
    """`picture` mirrored left-right if asked, then turned `turns` quarter turns."""
    return np.ascontiguousarray(np.rot90(picture[:, ::-1] if mirrored else picture, turns))


_BAR_STD = 1.5  # luma levels: a bar is flat where a marked picture never is (the mark alone is 4.2 RMS)
_BAR_LEVEL = 2.0  # and as bright as the edge's outermost line, within this


def _bars(luma: np.ndarray) -> tuple[int, int, int, int] | None:
    """The lines (top, bottom, left, right) of flat bars along the edges of `luma` (H, W), and a
    line more (an encode blurs the edge), so that what is left lies inside the picture the bars
    framed; None where no two opposite edges have bars 2 lines wide or more (a flat stretch of the
    picture's own along one edge is no frame), or they leave under half."""
    h, w = luma.shape

    def bar(lines: np.ndarray) -> int:  # (N, L): how many leading lines are one flat bar
        flat = (lines.std(1) < _BAR_STD) & (np.abs(lines.mean(1) - lines[0].mean()) < _BAR_LEVEL)
        return int(np.argmin(flat)) if not flat.all() else len(lines)

    top, bottom, left, right = bar(luma), bar(luma[::-1]), bar(luma.T), bar(luma.T[::-1])
    if min(top, bottom) < 2 and min(left, right) < 2:  # bars frame a picture on both sides
        return None
    top, bottom, left, right = (n + 1 if n else 0 for n in (top, bottom, left, right))
    if h - top - bottom < h / 2 or w - left - right < w / 2:
        return None
    return top, bottom, left, right


def _detect(evidence: np.ndarray, low: Reading, candidates: int = 6) -> WatermarkResult:
    """`detect_watermark` on what `_readings` gives: each design's picture to read."""
    views: dict[Design, Reading] = {"wide": lambda: evidence, "low": low}
    reads = 0
    # An uncut copy first: the whole frame at offset 0, one point, so a lower bar holds.
    z_whole = -np.inf
    for design, reading in views.items():
        lay, view = _layout(design), reading()
        whole = _spectra(view, np.ones(1), np.ones(1), lay.k)[0, 0]  # (k+1, 2k+1)
        surface = _sync_surfaces(whole[None], lay)[0]
        z = float((surface[0, 0] - surface.mean()) / (surface.std() + 1e-9))
        z_whole = max(z_whole, z)
        if z >= Z_UNCROPPED:
            reads += 1
            if read := _read(whole, z, 0.0, 0.0, Z_UNCROPPED, lay):
                return WatermarkResult(True, read[0], read[1], (1.0, 1.0), z, z, design, reads)
    searched = []
    for design, reading in views.items():
        found = _search(reading(), design, candidates, z_whole)
        reads += found.reads
        if found.found:
            return replace(found, reads=reads)
        searched.append(found)
    # Not found: the search that came nearest its bar says where the mark would most likely be.
    return replace(max(searched, key=lambda r: r.z - SEARCH_BARS[r.design or "wide"]), reads=reads)


def _search(evidence: np.ndarray, design: Design, candidates: int, z_whole: float) -> WatermarkResult:
    """The mark of `design` in a crop of the marked frame: the best kept fractions and offset."""
    lay, bar = _layout(design), SEARCH_BARS[design]
    shape = (-1, lay.k + 1, 2 * lay.k + 1)
    coarse = _spectra(evidence, _KEPT, _KEPT, lay.k).reshape(shape)  # (Ny * Nx, k+1, 2k+1)
    kept = np.stack(np.meshgrid(_KEPT, _KEPT, indexing="ij"), -1).reshape(-1, 2)  # (Ny * Nx, 2)
    # Refine the crop on a finer grid around each of the best coarse candidates.
    best = kept[np.argsort(-_z_scores(_sync_surfaces(coarse, lay)))[:candidates]]
    spectra = np.concatenate([_spectra(evidence, y + _FINE, x + _FINE, lay.k) for y, x in best])
    spectra = spectra.reshape(shape)
    kept = np.concatenate(
        [np.stack(np.meshgrid(y + _FINE, x + _FINE, indexing="ij"), -1) for y, x in best]
    ).reshape(-1, 2)
    surfaces = _sync_surfaces(spectra, lay)
    order = np.argsort(-_z_scores(surfaces))[:candidates]
    peaks = sorted((_refined_offset(spectra[i], surfaces[i], lay), i) for i in order)[::-1]
    reads = 0
    for (z, dy, dx), i in peaks:
        if z < bar:
            break
        reads += 1
        if read := _read(spectra[i], z, dy, dx, bar, lay):
            where = (float(kept[i, 0]), float(kept[i, 1]))
            return WatermarkResult(True, read[0], read[1], where, z, z_whole, design, reads)
    (z, _, _), i = peaks[0]
    where = (float(kept[i, 0]), float(kept[i, 1]))
    return WatermarkResult(False, None, 0.0, where, z, z_whole, design, reads)
