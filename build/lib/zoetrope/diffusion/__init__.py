"""Flow matching: training pairs, schedules, the sampler and conditioning masks."""

from zoetrope.diffusion.flow import logit_normal, noisy, schedule, shift_for_tokens, shift_time
from zoetrope.diffusion.sampler import Conditioning, denoise, guided

__all__ = ["Conditioning", "denoise", "guided", "logit_normal", "noisy", "schedule", "shift_for_tokens", "shift_time"]
