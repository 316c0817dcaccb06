"""An invisible watermark in every frame that survives re-encoding, resizing and cropping.

Design (spread spectrum in the frequency domain of a periodic tile):
- A 64x64-pixel tile, repeated over the frame and added to luma, is built from frequency bins
  2..8 cycles per tile (wavelengths 8 to 32 px: coarse enough to live through H.264 at CRF 28
  and a half-size resize, fine enough to stay out of the way of the picture).
- Its bins are split, by a fixed key, between a synchronisation template and the payload: 32
  bits of the generation id plus a CRC-16 under a rate-1/3 convolutional code (`convcode`),
  each coded bit flipping the sign of its own bin. Bins on the axes (ky or kx = 0) are left
  out: a picture's gradients and borders, folded onto a tile, pile their energy there.
- The tile repeats, so a crop is only a cyclic shift of it; a resize only changes its period.
  The decoder averages luma over time (the mark is the same in every frame), then for each
  candidate scale resamples, folds the picture onto one tile, and finds the shift as the peak
  of a phase-only correlation with the template. The payload is read at the best peaks with
  soft-decision Viterbi and accepted only if its CRC holds and the peak stands above the
  correlation noise.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from PIL import Image

from zoetrope.safety import convcode
from zoetrope.safety.convcode import PAYLOAD_BITS

TILE = 64
_BAND = (1, 10)  # cycles per tile (Chebyshev radius)
_KEY = b"zoetrope-watermark-v1"
STRENGTH = 3.5  # luma RMS of the mark, in 0..255 levels (PSNR about 38.5 dB)
_SCALES = np.exp(np.linspace(np.log(0.42), np.log(1.3), 64))  # observed period / 64, coarse
_FINE = np.exp(np.linspace(-0.02, 0.02, 9))  # refinement around the best coarse scales
_SUBPIXEL = np.linspace(-0.5, 0.5, 9)
_SYNC_SHARE = 0.25  # of the bins; the rest carry the coded payload
_Z_FOUND = 9.0  # sync peak height, in noise standard deviations, worth decoding a payload at


@dataclass(frozen=True)
class WatermarkResult:
    """Whether a Zoetrope mark is in the frames, its payload (hex) and how sure the decoder is."""

    found: bool
    payload: str | None
    confidence: float  # 0..1
    scale: float | None = None  # observed period / embedded period (0.5 after a half-size resize)
    z: float = 0.0  # sync peak height in noise standard deviations

    def to_json(self) -> dict:
        return {"found": self.found, "payload": self.payload, "confidence": round(self.confidence, 4)}


@lru_cache(maxsize=1)
def _layout() -> tuple[np.ndarray, np.ndarray, list[np.ndarray], np.ndarray]:
    """Keyed bins: (sync bin index arrays, sync phases, per-coded-bit bin indices, bit phases)."""
    rng = np.random.default_rng(int.from_bytes(hashlib.sha256(_KEY).digest()[:8], "little"))
    lo, hi = _BAND
    # Half of the spectrum (the other half is its conjugate), axes left out: ky > 0 and kx != 0.
    bins = [(ky, kx) for ky in range(1, hi + 1) for kx in range(-hi, hi + 1)
            if kx != 0 and lo <= max(abs(ky), abs(kx)) <= hi]  # fmt: skip
    order = rng.permutation(len(bins))
    n_sync = round(len(bins) * _SYNC_SHARE)
    sync = np.array([bins[i] for i in order[:n_sync]])
    # Payload bins go to coded bits in a keyed order; coded bits left without a bin are read as
    # erasures, scattered over the codeword so the Viterbi decoder can bridge them.
    rest, slot = order[n_sync:], np.argsort(rng.permutation(convcode.CODED_BITS))
    bits = [np.array([bins[i] for i in rest[slot[j] :: convcode.CODED_BITS]], np.int64).reshape(-1, 2)
            for j in range(convcode.CODED_BITS)]  # fmt: skip
    phases = rng.uniform(0, 2 * np.pi, len(bins))
    return sync, phases[:n_sync], bits, phases[n_sync:]


def payload_for(generation_id: str) -> bytes:
    """The 32-bit payload that stands for a generation id (its SHA-256, first 4 bytes)."""
    return hashlib.sha256(generation_id.encode()).digest()[: PAYLOAD_BITS // 8]


def _tile(payload: bytes) -> np.ndarray:
    """The (64, 64) float pattern for `payload`, with unit RMS."""
    sync, sync_phase, bits, bit_phase = _layout()
    spectrum = np.zeros((TILE, TILE), complex)
    for (ky, kx), ph in zip(sync, sync_phase, strict=True):
        spectrum[ky % TILE, kx % TILE] = np.exp(1j * ph)
    flat_phase = iter(bit_phase)
    for bit, group in zip(convcode.encode(payload), bits, strict=True):
        for ky, kx in group:
            spectrum[ky % TILE, kx % TILE] = np.exp(1j * (next(flat_phase) + np.pi * bit))
    tile = np.fft.ifft2(spectrum).real  # real part == sum of the bin and its conjugate
    return tile / tile.std()


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


def embed_watermark(frames: np.ndarray, payload: bytes | str, *, strength: float = STRENGTH) -> np.ndarray:
    """A copy of `frames` (uint8 (T, H, W, 3) or (H, W, 3)) with the mark added to every frame.

    `payload` is 4 bytes, 8 hex digits, or any other text/bytes (a generation id), which is
    hashed to 4 bytes with `payload_for`. `detect_watermark` returns it as 8 hex digits.
    """
    stack = frames if frames.ndim == 4 else frames[None]
    h, w = stack.shape[1:3]
    tile = _tile(_payload_bytes(payload))
    mark = np.tile(tile, (h // TILE + 1, w // TILE + 1))[:h, :w] * strength  # (H, W)
    # Pixels are integers, so rounding the mark first is the same sum; int16 keeps it light on HD video.
    out = stack.astype(np.int16)
    out += np.round(mark).astype(np.int16)[None, :, :, None]
    out = np.clip(out, 0, 255, out=out).astype(np.uint8)
    return out if frames.ndim == 4 else out[0]


def _luma(frames: np.ndarray) -> np.ndarray:
    """Time-averaged luma (H, W) of uint8 frames, float."""
    stack = frames if frames.ndim == 4 else frames[None]
    rgb = stack.astype(np.float32).mean(0)
    return rgb @ np.array([0.299, 0.587, 0.114], np.float32)


def _fold(image: np.ndarray) -> np.ndarray:
    """`image` summed onto one (64, 64) tile by position modulo 64, as a mean where covered."""
    h, w = image.shape
    ys, xs = np.mgrid[0:h, 0:w]
    idx = (ys % TILE) * TILE + xs % TILE
    total = np.bincount(idx.ravel(), image.ravel(), TILE * TILE)
    count = np.bincount(idx.ravel(), None, TILE * TILE)
    folded = np.where(count > 0, total / np.maximum(count, 1), 0.0)
    return folded.reshape(TILE, TILE)


def _whitened(image: np.ndarray, scale: float) -> np.ndarray:
    """The folded tile's spectrum at `scale`, each bin reduced to its phase (unit magnitude)."""
    h, w = image.shape
    size = (max(8, round(w / scale)), max(8, round(h / scale)))
    resampled = np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BICUBIC), np.float64)
    folded = _fold(resampled - resampled.mean())
    spectrum = np.fft.fft2(folded)
    return spectrum / np.maximum(np.abs(spectrum), 1e-9)


def _decode_at(spectrum: np.ndarray, dy: float, dx: float) -> np.ndarray:
    """Soft values of the coded bits with the tile shifted by (dy, dx): >0 means 0, 0 means unknown."""
    _, _, bits, bit_phase = _layout()
    flat = np.concatenate(bits)  # (B, 2) in the order of bit_phase
    owner = np.repeat(np.arange(len(bits)), [len(g) for g in bits])  # the coded bit of each bin
    shift = np.exp(2j * np.pi * (flat[:, 0] * dy + flat[:, 1] * dx) / TILE)
    values = (spectrum[flat[:, 0] % TILE, flat[:, 1] % TILE] * shift * np.exp(-1j * bit_phase)).real
    return np.bincount(owner, values, len(bits))


def _sync_peak(spectrum: np.ndarray, template: np.ndarray) -> tuple[float, float, float]:
    """(z, dy, dx): the template's correlation peak over all cyclic shifts, refined to 1/8 px."""
    sync, sync_phase, _, _ = _layout()
    # Correlation over every integer cyclic shift at once; the peak's position is the shift.
    surface = np.fft.ifft2(spectrum * np.conj(template)).real * TILE * TILE  # (64, 64)
    mean, std = surface.mean(), surface.std() + 1e-9
    y, x = np.unravel_index(int(surface.argmax()), surface.shape)
    coeffs = spectrum[sync[:, 0] % TILE, sync[:, 1] % TILE] * np.exp(-1j * sync_phase)  # (S,)
    fy, fx = y + _SUBPIXEL[:, None], x + _SUBPIXEL[None, :]  # (9, 9) candidate shifts
    phase = 2 * np.pi * (sync[:, 0, None, None] * fy + sync[:, 1, None, None] * fx) / TILE
    # Each sync bin and its conjugate add 2*Re(...) to the integer-shift surface above.
    fine = 2 * (coeffs[:, None, None] * np.exp(1j * phase)).real.sum(0)  # (9, 9)
    i, j = np.unravel_index(int(fine.argmax()), fine.shape)
    return float((max(fine[i, j], surface[y, x]) - mean) / std), float(fy[i, 0]), float(fx[0, j])


def detect_watermark(frames: np.ndarray, *, candidates: int = 6) -> WatermarkResult:
    """Look for a Zoetrope mark in `frames` (uint8 (T, H, W, 3) or (H, W, 3)) at any scale and crop."""
    sync, sync_phase, _, _ = _layout()
    luma = _luma(frames)
    template = np.zeros((TILE, TILE), complex)
    template[sync[:, 0] % TILE, sync[:, 1] % TILE] = np.exp(1j * sync_phase)

    def peak(scale: float) -> tuple[float, float, float, float, np.ndarray]:
        spectrum = _whitened(luma, scale)
        z, dy, dx = _sync_peak(spectrum, template)
        return z, scale, dy, dx, spectrum

    coarse = sorted((peak(float(s)) for s in _SCALES), key=lambda p: -p[0])
    peaks = [peak(float(c[1] * f)) for c in coarse[:candidates] for f in _FINE]
    peaks.sort(key=lambda p: -p[0])
    best_z = peaks[0][0]
    for z, scale, dy, dx, spectrum in peaks[:candidates]:
        if z < _Z_FOUND:
            break
        soft = _decode_at(spectrum, dy, dx)
        payload = convcode.decode(soft)
        if payload is not None:
            # How well the decoded codeword fits what was read, in noise standard deviations.
            fit = soft * (1 - 2 * convcode.encode(payload))
            margin = float(fit.mean() / (soft.std() + 1e-9))
            confidence = float(1 - np.exp(-(z - _Z_FOUND + 1) * min(max(margin, 0.1), 3.0) / 2))
            return WatermarkResult(True, payload.hex(), confidence, scale, z)
    return WatermarkResult(False, None, 0.0, peaks[0][1], best_z)
