"""Safety and provenance: prompt and frame moderation, invisible and visible watermarks, C2PA, verify.

The platform calls these at two points: `moderate_prompt` before a job is queued, and the output
steps (`check_frames`, `embed_watermark`, `visible_watermark`, `sign_file`) when a job finalises.
"""

from zoetrope.safety.moderation import ModerationResult, check_prompt, moderate_prompt, to_openai
from zoetrope.safety.provenance import C2PAReport, read_provenance, sign_file

__all__ = [
    "C2PAReport",
    "ModerationResult",
    "check_prompt",
    "moderate_prompt",
    "read_provenance",
    "sign_file",
    "to_openai",
]
