"""The renderer: scenes to uint8 frames, a whole batch of clips per numpy call.

Objects are drawn as anti-aliased signed-distance shapes into small per-object patches
(one patch per object per frame, gathered from and scattered back into a padded canvas),
so the cost follows the objects' area rather than the frame's.
"""

from __future__ import annotations

import numpy as np

from zoetrope.world.motion import Track, camera_view, clip_times, scene_tracks
from zoetrope.world.scene import Background, Camera, Scene
from zoetrope.world.shapes import EXTENT, SDF
from zoetrope.world.vocab import BACKDROP_COLORS, GROUND_COLORS, SKY_COLORS


def _rgb(table: dict[str, tuple[int, int, int]], name: str | None) -> np.ndarray:
    return np.asarray(table[name or next(iter(table))], np.float32)


def background_rows(background: Background, camera: Camera, t: np.ndarray, height: int) -> np.ndarray:
    """The backdrop, which is constant along each row: (T, H, 3) float32 colors."""
    _, oy, zoom = camera_view(camera, t)
    ys = (np.arange(height) + 0.5) / height  # (H,)
    wy = ((ys[None, :] - 0.5) / zoom[:, None] + 0.5 + oy[:, None]).astype(np.float32)  # (T, H)
    if background.kind == "solid":
        return np.broadcast_to(_rgb(BACKDROP_COLORS, background.color), (len(t), height, 3))
    if background.kind == "gradient":
        top, bottom = _rgb(BACKDROP_COLORS, background.color), _rgb(BACKDROP_COLORS, background.color2)
        mix = np.clip(wy, 0, 1)[..., None]
    else:
        top, bottom = _rgb(SKY_COLORS, background.color), _rgb(GROUND_COLORS, background.color2)
        edge = (wy - background.horizon) * height * zoom[:, None].astype(np.float32)  # pixels
        mix = np.clip(edge + 0.5, 0, 1)[..., None]
    return top + (bottom - top) * mix


def _draw_layer(
    flat: np.ndarray,
    dims: tuple[int, int, int, int],
    pad: int,
    clips: list[int],
    tracks: list[Track],
    shapes: list[str],
) -> None:
    """Composite one object per listed clip onto the padded canvas `flat` ((B*T*Hp*Wp, 3) uint8)."""
    frames, height, width, wp = dims
    hp = height + 2 * pad
    x = np.stack([tr.x for tr in tracks]).astype(np.float32) + pad  # (n, T) padded pixels
    y = np.stack([tr.y for tr in tracks]).astype(np.float32) + pad
    r = np.stack([tr.radius for tr in tracks]).astype(np.float32)
    size = int(np.ceil(2 * EXTENT * r.max())) + 3
    x0 = np.clip(np.floor(x - size / 2).astype(np.int64), 0, wp - size)  # (n, T)
    y0 = np.clip(np.floor(y - size / 2).astype(np.int64), 0, hp - size)
    steps = np.arange(size)
    px = x0[..., None, None] + steps[None, None, None, :]  # (n, T, 1, S)
    py = y0[..., None, None] + steps[None, None, :, None]  # (n, T, S, 1)
    inv = (1.0 / r)[..., None, None]
    dx = (px + 0.5 - x[..., None, None]) * inv
    dy = (py + 0.5 - y[..., None, None]) * inv
    ang = np.stack([tr.angle for tr in tracks]).astype(np.float32)[..., None, None]
    c, s = np.cos(ang), np.sin(ang)
    u, v = c * dx + s * dy, c * dy - s * dx  # (n, T, S, S) object coordinates, in radii
    dist = np.empty(u.shape, np.float32)
    names = np.asarray(shapes)
    for name in set(shapes):
        idx = np.flatnonzero(names == name)
        dist[idx] = SDF[name](u[idx], v[idx])
    alpha = np.stack([tr.alpha for tr in tracks]).astype(np.float32)[..., None, None]
    cover = np.clip(0.5 - dist * r[..., None, None], 0, 1) * alpha  # pixel-wide anti-aliased edge
    clip_idx = np.asarray(clips)[:, None, None, None]
    t_idx = np.arange(frames)[None, :, None, None]
    lin = ((clip_idx * frames + t_idx) * hp + py) * wp + px  # (n, T, S, S)
    under = flat[lin].astype(np.float32)  # (n, T, S, S, 3)
    rgb = np.stack([tr.rgb for tr in tracks]).astype(np.float32)[:, :, None, None, :]
    flat[lin] = (under + cover[..., None] * (rgb - under) + 0.5).astype(np.uint8)


def render_batch(scenes: list[Scene], *, frames: int, height: int, width: int, fps: int = 8) -> np.ndarray:
    """Clips of every scene: uint8 (B, T, H, W, 3)."""
    if frames < 1 or height < 1 or width < 1:
        raise ValueError("frames, height and width must be positive")
    t = clip_times(frames, fps)
    tracks = [scene_tracks(sc, frames, height, width, fps) for sc in scenes]
    reach = max((float(tr.radius.max()) for ts in tracks for tr in ts), default=1.0)
    pad = int(np.ceil(EXTENT * reach)) + 3
    hp, wp = height + 2 * pad, width + 2 * pad
    canvas = np.zeros((len(scenes), frames, hp, wp, 3), np.uint8)
    for b, sc in enumerate(scenes):
        rows = background_rows(sc.background, sc.camera, t, height)  # (T, H, 3)
        canvas[b, :, pad : pad + height, :, :] = (rows + 0.5).astype(np.uint8)[:, :, None, :]
    flat = canvas.reshape(-1, 3)
    for layer in range(max((len(sc.objects) for sc in scenes), default=0)):
        clips = [b for b, sc in enumerate(scenes) if len(sc.objects) > layer]
        _draw_layer(
            flat,
            (frames, height, width, wp),
            pad,
            clips,
            [tracks[b][layer] for b in clips],
            [scenes[b].objects[layer].shape for b in clips],
        )
    return np.ascontiguousarray(canvas[:, :, pad : pad + height, pad : pad + width])


def render(scene: Scene, *, frames: int, height: int, width: int, fps: int = 8) -> np.ndarray:
    """The clip of `scene`: uint8 (T, H, W, 3). Motion runs in seconds, so more frames last longer."""
    return render_batch([scene], frames=frames, height=height, width=width, fps=fps)[0]
