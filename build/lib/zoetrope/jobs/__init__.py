"""Jobs: the persisted video objects, the queue workers claim from, and the worker loop."""

from zoetrope.jobs.models import COMPLETED, FAILED, IN_PROGRESS, QUEUED, Job

__all__ = ["COMPLETED", "FAILED", "IN_PROGRESS", "QUEUED", "Job"]
