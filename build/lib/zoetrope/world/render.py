"""The renderer: scenes to uint8 frames, a whole batch of clips per numpy call.

Objects are drawn as anti-aliased signed-distance shapes into small per-object patches
(one patch per object per frame, gathered from and scattered back into the canvas as
whole 3-byte pixels), so the cost follows the objects' area rather than the frame's.
"""

from __future__ import annotations

import numpy as np

from zoetrope.world.motion import Track, camera_view, clip_times, scene_tracks
from zoetrope.world.scene import Background, Camera, Scene
from zoetrope.world.shapes import EXTENT, SDF
from zoetrope.world.vocab import BACKDROP_COLORS, GROUND_COLORS, SKY_COLORS

_PIXEL = np.dtype("V3")  # an RGB pixel as one element, so patches gather and scatter in one step


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


def _draw(
    flat: np.ndarray, dims: tuple[int, int, int], clips: list[int], tracks: list[Track], shapes: list[str]
) -> None:
    """Composite one object per listed clip onto `flat`, the canvas as 3-byte pixels (B*T*H*W,)."""
    frames, height, width = dims
    x = np.stack([tr.x for tr in tracks]).astype(np.float32)  # (n, T) pixels
    y = np.stack([tr.y for tr in tracks]).astype(np.float32)
    r = np.stack([tr.radius for tr in tracks]).astype(np.float32)
    size = int(np.ceil(2 * EXTENT * r.max())) + 2
    # A patch that would cross an edge slides inside the frame: it still covers the visible part.
    sx, sy = min(size, width), min(size, height)
    x0 = np.clip(np.floor(x - size / 2).astype(np.int64), 0, width - sx)  # (n, T)
    y0 = np.clip(np.floor(y - size / 2).astype(np.int64), 0, height - sy)
    px = x0[..., None, None] + np.arange(sx)  # (n, T, 1, Sx)
    py = y0[..., None, None] + np.arange(sy)[:, None]  # (n, T, Sy, 1)
    inv = (1.0 / r)[..., None, None]
    dx = (px + 0.5 - x[..., None, None]) * inv
    dy = (py + 0.5 - y[..., None, None]) * inv
    ang = np.stack([tr.angle for tr in tracks]).astype(np.float32)[..., None, None]
    c, s = np.cos(ang), np.sin(ang)
    u, v = c * dx + s * dy, c * dy - s * dx  # (n, T, Sy, Sx) object coordinates, in radii
    if len(set(shapes)) == 1:
        dist = SDF[shapes[0]](u, v)
    else:
        dist = np.empty(u.shape, np.float32)
        names = np.asarray(shapes)
        for name in set(shapes):
            idx = np.flatnonzero(names == name)
            dist[idx] = SDF[name](u[idx], v[idx])
    # Coverage with a pixel-wide anti-aliased edge, as 1/256ths of the object's opacity.
    alpha = np.stack([tr.alpha for tr in tracks]).astype(np.float32) * 256  # (n, T)
    dist *= -r[..., None, None]
    dist += 0.5
    np.clip(dist, 0, 1, out=dist)
    dist *= alpha[..., None, None]
    cover = dist.astype(np.uint16).ravel()
    hit = np.flatnonzero(cover)  # blend only the pixels the object touches
    a = cover[hit][:, None]  # (m, 1)
    clip_idx = np.asarray(clips)[:, None, None, None]
    t_idx = np.arange(frames)[None, :, None, None]
    lin = ((clip_idx * frames + t_idx) * height + py) * width + px  # (n, T, Sy, Sx)
    pos = lin.ravel()[hit]
    under = flat[pos].view(np.uint8).reshape(len(hit), 3)  # (m, 3)
    rgb = (np.stack([tr.rgb for tr in tracks]) + 0.5).astype(np.uint16).reshape(-1, 3)  # (n*T, 3)
    rgb = rgb[hit // (sx * sy)]
    out = ((under * (256 - a) + rgb * a + 128) >> 8).astype(np.uint8)
    flat[pos] = out.view(_PIXEL)[:, 0]


def _size_key(track: Track) -> int:
    return int(np.ceil(EXTENT * float(track.radius.max()) / 2))  # patch sizes in steps of 4 pixels


def render_batch(scenes: list[Scene], *, frames: int, height: int, width: int, fps: int = 8) -> np.ndarray:
    """Clips of every scene: uint8 (B, T, H, W, 3)."""
    if frames < 1 or height < 1 or width < 1:
        raise ValueError("frames, height and width must be positive")
    t = clip_times(frames, fps)
    tracks = [scene_tracks(sc, frames, height, width, fps) for sc in scenes]
    rows = np.stack([background_rows(sc.background, sc.camera, t, height) for sc in scenes])  # (B, T, H, 3)
    canvas = np.empty((len(scenes), frames, height, width, 3), np.uint8)
    canvas[:, :, :, 0] = rows + 0.5
    done = 1
    while done < width:  # copy the first columns onto the next ones, doubling: far faster than broadcasting
        step = min(done, width - done)
        canvas[:, :, :, done : done + step] = canvas[:, :, :, :step]
        done += step
    flat = canvas.view(_PIXEL).reshape(-1)  # one 3-byte pixel per element
    for layer in range(max((len(sc.objects) for sc in scenes), default=0)):
        # Objects of one layer belong to different clips, so they may be drawn in any grouping.
        groups: dict[int, list[int]] = {}
        for b, sc in enumerate(scenes):
            if len(sc.objects) > layer:
                groups.setdefault(_size_key(tracks[b][layer]), []).append(b)
        for clips in groups.values():
            _draw(
                flat,
                (frames, height, width),
                clips,
                [tracks[b][layer] for b in clips],
                [scenes[b].objects[layer].shape for b in clips],
            )
    return canvas


def render(scene: Scene, *, frames: int, height: int, width: int, fps: int = 8) -> np.ndarray:
    """The clip of `scene`: uint8 (T, H, W, 3). Motion runs in seconds, so more frames last longer."""
    return render_batch([scene], frames=frames, height=height, width=width, fps=fps)[0]
