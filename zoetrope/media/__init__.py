"""Media: encode frames to MP4/PNG, decode uploads to frames, previews, resizing and overlays.

Frames are always uint8 numpy arrays (T, H, W, 3); an image is one frame (H, W, 3).
Bad uploads raise `zoetrope.errors.InvalidMedia` within the limits of `get_settings()`.
"""

from zoetrope.media.decode import (
    DEFAULT_FPS,
    Media,
    MediaInfo,
    probe,
    read_frames,
    read_video,
    read_video_sizes,
)
from zoetrope.media.encode import DEFAULT_CRF, encode_image, encode_mp4, encode_png, write_mp4, write_png
from zoetrope.media.geometry import fit, resize, retime
from zoetrope.media.overlay import overlay, render_text
from zoetrope.media.preview import SpriteLayout, Spritesheet, spritesheet, thumbnail
from zoetrope.media.sources import Source
from zoetrope.media.stream import Mp4Writer

__all__ = [
    "DEFAULT_CRF",
    "DEFAULT_FPS",
    "Media",
    "MediaInfo",
    "Mp4Writer",
    "Source",
    "SpriteLayout",
    "Spritesheet",
    "encode_image",
    "encode_mp4",
    "encode_png",
    "fit",
    "overlay",
    "probe",
    "read_frames",
    "read_video",
    "read_video_sizes",
    "render_text",
    "resize",
    "retime",
    "spritesheet",
    "thumbnail",
    "write_mp4",
    "write_png",
]
