"""Safety and provenance: prompt and frame moderation, invisible and visible watermarks, C2PA, verify.

The platform calls these at two points: `moderate_prompt` before a job is queued, and the output
steps (`check_frames`, `embed_watermark`, `visible_watermark`, `sign_file`) when a job finalises.
"""

from zoetrope.safety.frames import FrameVerdict, check_frames, moderate_frames
from zoetrope.safety.moderation import ModerationResult, check_prompt, moderate_prompt
from zoetrope.safety.openai_moderations import to_openai
from zoetrope.safety.provenance import C2PAReport, read_provenance, sign_file
from zoetrope.safety.verify import VerifyReport, verify
from zoetrope.safety.visible import visible_watermark
from zoetrope.safety.watermark import WatermarkResult, detect_watermark, embed_watermark, payload_for

__all__ = [
    "C2PAReport",
    "FrameVerdict",
    "ModerationResult",
    "VerifyReport",
    "WatermarkResult",
    "check_frames",
    "check_prompt",
    "detect_watermark",
    "embed_watermark",
    "moderate_frames",
    "moderate_prompt",
    "payload_for",
    "read_provenance",
    "sign_file",
    "to_openai",
    "verify",
    "visible_watermark",
]
